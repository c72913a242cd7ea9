"""Courses, class groups, students (some converted from won leads) and their enrollments."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from app.demo import data
from app.demo.context import LOCAL_TZ, Ctx, insert_rows
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup, Course, Enrollment


async def seed_courses(ctx: Ctx) -> None:
    rows = [
        dict(
            name=name,
            subject=subject,
            level=level,
            lesson_minutes=minutes,
            total_lessons=lessons,
            price=price,
            created_at=ctx.moment(400, 365),
            _grades=grades,
        )
        for name, subject, level, minutes, lessons, price, grades in data.COURSES
    ]
    for row, id_ in zip(rows, await insert_rows(Course, rows)):
        row["id"] = id_
    ctx.courses = rows
    ctx.count(Course, len(rows))


def _group_row(ctx: Ctx, code: str, course: dict, teacher: dict, taken: set[str]) -> dict:
    kind = ctx.weighted({k: v[1] for k, v in data.CLASS_KINDS.items()})
    label, _, (low, high) = data.CLASS_KINDS[kind]
    base = name = f"{course['name']}·{ctx.rng.choice(data.CLASS_SLOTS)}{label}"
    n = 2
    while name in taken:
        name, n = f"{base}({n})", n + 1
    taken.add(name)
    start = ctx.today() + timedelta(days=ctx.rng.randint(-150, 30))
    opened = datetime.combine(start - timedelta(days=ctx.rng.randint(14, 45)), time(10), LOCAL_TZ)
    return dict(
        name=name,
        course=course["id"],
        campus=ctx.campuses[code],
        teacher=teacher["id"],
        kind=kind,
        capacity=ctx.rng.randint(low, high),
        start_date=start,
        created_at=min(opened, ctx.now),
        _code=code,
        _course=course,
        _teacher=teacher,
    )


async def seed_class_groups(ctx: Ctx) -> None:
    rows = []
    for code in ctx.campuses:
        # Every course runs on every campus; the popular ones get a second or third class.
        extra = ctx.rng.sample(ctx.courses * 2, data.GROUPS_PER_CAMPUS - len(ctx.courses))
        teachers, taken = ctx.staff("teacher", code), set[str]()
        for i, course in enumerate(ctx.courses + extra):
            rows.append(_group_row(ctx, code, course, teachers[i % len(teachers)], taken))
    for row, id_ in zip(rows, await insert_rows(ClassGroup, rows)):
        row.update(id=id_, _seats=row["capacity"])
    ctx.groups = rows
    ctx.count(ClassGroup, len(rows))


def _student_row(ctx: Ctx, lead: dict | None) -> dict:
    if lead:  # a won lead became this student
        code, name, gender, grade = lead["_code"], lead["student_name"], lead["_gender"], lead["grade"]
        guardian, phone, advisor = lead["guardian_name"], lead["phone"] or ctx.phone(), lead["owner"]
        created = lead["updated_at"]
    else:
        code, (name, gender), grade = ctx.weighted(data.CAMPUS_WEIGHTS), ctx.kid(), ctx.grade()
        guardian, phone = ctx.guardian(name), ctx.phone()
        advisor, created = ctx.rng.choice(ctx.staff("advisor", code))["id"], ctx.moment(720, 3)
    return dict(
        name=name,
        gender=gender,
        birth_date=ctx.birth_date(grade),
        grade=grade,
        guardian_name=guardian,
        guardian_phone=phone,
        campus=ctx.campuses[code],
        class_teacher=ctx.rng.choice(ctx.staff("class_teacher", code))["id"],
        advisor=advisor,
        lead=lead["id"] if lead else None,
        status=ctx.weighted(data.STUDENT_STATUSES),
        created_at=created,
        _code=code,
    )


async def seed_students(ctx: Ctx) -> None:
    won = [lead for lead in ctx.leads if lead["status"] == "won" and lead["owner"]]
    converted = won[: data.STUDENT_COUNT * 2 // 5]
    rows = [_student_row(ctx, lead) for lead in converted]
    rows += [_student_row(ctx, None) for _ in range(data.STUDENT_COUNT - len(rows))]
    rows.sort(key=lambda r: r["created_at"])
    for row, id_ in zip(rows, await insert_rows(Student, rows)):
        row["id"] = id_
    ctx.students = rows
    ctx.count(Student, len(rows))
    await seed_enrollments(ctx)


def _pick_group(ctx: Ctx, student: dict) -> dict | None:
    """A class on the student's campus with a free seat, preferably one for their grade."""
    grade = data.GRADES.index(student["grade"])
    mine = {g["id"] for g in ctx.enrolled.get(student["id"], [])}
    free = [g for g in ctx.groups if g["_code"] == student["_code"] and g["_seats"] > 0 and g["id"] not in mine]
    fitting = [g for g in free if g["_course"]["_grades"][0] <= grade <= g["_course"]["_grades"][1]]
    return ctx.rng.choice(fitting or free) if free else None


async def seed_enrollments(ctx: Ctx) -> None:
    rows = []
    for student in ctx.students:
        for _ in range(ctx.rng.choices([1, 2], weights=[60, 40])[0]):
            group = _pick_group(ctx, student)
            if group is None:
                continue
            group["_seats"] -= 1
            ctx.enrolled.setdefault(student["id"], []).append(group)
            rows.append(
                dict(
                    student=student["id"],
                    class_group=group["id"],
                    status="withdrawn" if student["status"] == "withdrawn" else "active",
                    created_at=ctx.later(max(student["created_at"], group["created_at"]), 30),
                )
            )
    await insert_rows(Enrollment, rows)
    ctx.count(Enrollment, len(rows))
