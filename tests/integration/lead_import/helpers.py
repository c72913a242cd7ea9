"""Files and stored leads for the import tests."""

from __future__ import annotations

import io

from app.leads import services

HEADERS = ["学员姓名", "家长", "手机", "邮箱", "微信", "城市", "区", "年级", "意向课程", "来源"]


def csv_bytes(rows: list[list[str]], headers: list[str] = HEADERS, encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(headers)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list], headers: list[str] = HEADERS) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sample_rows() -> list[list[str]]:
    """Row 2 fine, row 3 bad phone, row 4 no name, row 5 same phone as row 2, row 6 fine."""
    return [
        ["张小明", "张伟", "13800138000", "", "", "北京", "海淀区", "三年级", "数学;英语", "抖音"],
        ["李小红", "李强", "不详", "", "", "北京", "朝阳区", "二年级", "", ""],
        ["", "王芳", "13900139000", "", "", "北京", "朝阳区", "", "", ""],
        ["张晓明", "张伟", "138-0013-8000", "", "", "北京", "海淀区", "三年级", "", ""],
        ["赵六", "", "", "", "zhao6_wx", "上海", "浦东新区", "初一", "", "转介绍"],
    ]


async def store_lead(user, **values) -> int:
    lead = await services.create_lead(user, {"student_name": "陈一", "phone": "13700137000", **values})
    return lead["id"]
