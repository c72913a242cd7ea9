"""A realistic demo school (北京海淀 and 上海徐汇 campuses) for trying Shuyuan out: `seed_demo()`."""

from app.demo.seed import seed_demo

__all__ = ["seed_demo"]
