"""The ticket types every school starts with; `ensure_default_types` adds missing ones by code."""

from __future__ import annotations

from tables.tickets.tables import TicketType

SUBJECTS = ["数学", "英语", "语文", "物理", "国学", "编程", "书法"]


def _f(key, label, kind, required=False, help="", options=None):
    return {
        "key": key,
        "label": label,
        "type": kind,
        "required": required,
        "help": help,
        "options": options or [],
        "archived": False,
    }


DEFAULT_TYPES = [
    (
        "consultation",
        "课程咨询",
        "课程内容、班型、价格与排课的咨询",
        "normal",
        [
            _f("course_interest", "感兴趣的课程", "multi_select", True, options=SUBJECTS),
            _f("grade", "学员年级", "text", help="例如 三年级、初二"),
            _f("preferred_time", "方便上课的时间", "text"),
        ],
    ),
    (
        "leave_reschedule",
        "请假调课",
        "学员请假、调课与补课申请",
        "normal",
        [
            _f("class_group", "班级", "class_group", True),
            _f("lesson_date", "请假日期", "date", True),
            _f("reason", "请假原因", "select", True, options=["生病", "考试", "家中有事", "其他"]),
            _f("makeup_wanted", "需要补课", "boolean"),
            _f("makeup_time", "希望的补课时间", "datetime"),
        ],
    ),
    (
        "complaint",
        "投诉建议",
        "对教学、服务或环境的投诉与建议",
        "high",
        [
            _f("category", "类别", "select", True, options=["教学质量", "服务态度", "环境设施", "收费", "其他"]),
            _f("occurred_on", "发生日期", "date"),
            _f("expectation", "期望的处理结果", "long_text"),
        ],
    ),
    (
        "refund",
        "退费申请",
        "退费申请，需审批后由财务执行",
        "high",
        [
            _f("contract_no", "合同编号", "text", True),
            _f("amount", "申请退费金额（元）", "money", True),
            _f("reason", "退费原因", "select", True, options=["搬家", "时间冲突", "对课程不满意", "其他"]),
            _f("account_name", "收款人姓名", "text", True),
            _f("proof", "相关凭证", "attachment", help="收据或合同照片"),
        ],
    ),
    (
        "tech_support",
        "技术支持",
        "App、小程序、网课平台的使用问题",
        "normal",
        [
            _f("platform", "平台", "select", True, options=["App", "小程序", "网页", "直播课"]),
            _f("device", "设备与系统", "text", help="例如 iPhone 15 / iOS 18"),
            _f("occurred_at", "发生时间", "datetime"),
            _f("screenshot", "截图", "attachment"),
        ],
    ),
    (
        "repair",
        "设备报修",
        "教室设备、空调、网络等报修",
        "normal",
        [
            _f("location", "位置", "text", True, help="例如 3 楼 302 教室"),
            _f("equipment", "设备", "select", True, options=["投影仪", "空调", "电脑", "桌椅", "网络", "其他"]),
            _f("photo", "照片", "attachment"),
        ],
    ),
]


def default_type_rows() -> list[dict]:
    rows = []
    for order, (code, name, description, priority, fields) in enumerate(DEFAULT_TYPES):
        numbered = [{**f, "order": i} for i, f in enumerate(fields)]
        rows.append(
            dict(
                code=code,
                name=name,
                description=description,
                default_priority=priority,
                fields=numbered,
                sort_order=order,
            )
        )
    return rows


async def ensure_default_types() -> int:
    """Create the default types that do not exist yet; never touches an admin's edits."""
    existing = {r["code"] for r in await TicketType.select(TicketType.code)}
    missing = [TicketType(**row) for row in default_type_rows() if row["code"] not in existing]
    if missing:
        await TicketType.insert(*missing)
    return len(missing)
