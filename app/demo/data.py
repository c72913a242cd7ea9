"""Fixed content of the demo school: organisation, staff roster, courses, places, texts.

Everything random is drawn from these lists by `app.demo.context.Ctx`, so the same seed always
gives the same school.
"""

from __future__ import annotations

from decimal import Decimal

ADMIN_PASSWORD = "admin12345"
DEMO_PASSWORD = "demo12345"
EMAIL_DOMAIN = "shuyuan-demo.example.com"

CAMPUSES = [
    # code, name, address, (city, weighted districts)
    (
        "HD",
        "北京海淀校区",
        "北京市海淀区中关村大街59号文化大厦3层",
        ("北京", {"海淀区": 50, "朝阳区": 15, "西城区": 10, "昌平区": 10, "丰台区": 8, "东城区": 7}),
    ),
    (
        "XH",
        "上海徐汇校区",
        "上海市徐汇区漕溪北路88号圣爱大厦5层",
        ("上海", {"徐汇区": 45, "浦东新区": 18, "闵行区": 15, "长宁区": 10, "静安区": 7, "黄浦区": 5}),
    ),
]
CAMPUS_WEIGHTS = {"HD": 55, "XH": 45}

# key, name, parent key; "{c}" is replaced by the campus code. The leader is set from STAFF.
HQ_TEAM = ("HQ", "总部", None)
CAMPUS_TEAMS = [
    ("{c}.teach", "教学部", "HQ"),
    ("{c}.teach.ct", "班主任组", "{c}.teach"),
    ("{c}.teach.t", "教师组", "{c}.teach"),
    ("{c}.sales", "销售部", "HQ"),
    ("{c}.sales.1", "销售一组", "{c}.sales"),
    ("{c}.sales.2", "销售二组", "{c}.sales"),
    ("{c}.cs", "客服组", "HQ"),
]

# username, display name, role, campus code, team key, leads the team. A None username or name
# is generated (pinyin username from the generated name).
STAFF = [
    ("admin", "陈志远", "admin", None, "HQ", True),
    ("finance", "林晓梅", "finance", None, "HQ", False),
    (None, None, "finance", None, "HQ", False),
    # 北京海淀
    ("supervisor", "周建华", "supervisor", "HD", "HD.sales", True),
    (None, None, "advisor", "HD", "HD.sales.1", True),
    ("advisor", "李思雨", "advisor", "HD", "HD.sales.1", False),
    (None, None, "advisor", "HD", "HD.sales.1", False),
    (None, None, "advisor", "HD", "HD.sales.2", True),
    (None, None, "advisor", "HD", "HD.sales.2", False),
    (None, None, "advisor", "HD", "HD.sales.2", False),
    (None, None, "supervisor", "HD", "HD.teach", True),
    ("academic", "赵静怡", "academic_affairs", "HD", "HD.teach", False),
    (None, None, "class_teacher", "HD", "HD.teach.ct", True),
    ("classteacher", "孙雅琪", "class_teacher", "HD", "HD.teach.ct", False),
    (None, None, "teacher", "HD", "HD.teach.t", True),
    ("teacher", "吴俊杰", "teacher", "HD", "HD.teach.t", False),
    (None, None, "teacher", "HD", "HD.teach.t", False),
    (None, None, "customer_service", "HD", "HD.cs", True),
    ("service", "郑晓丽", "customer_service", "HD", "HD.cs", False),
    # 上海徐汇
    (None, None, "supervisor", "XH", "XH.sales", True),
    (None, None, "advisor", "XH", "XH.sales.1", True),
    (None, None, "advisor", "XH", "XH.sales.1", False),
    (None, None, "advisor", "XH", "XH.sales.2", True),
    (None, None, "advisor", "XH", "XH.sales.2", False),
    (None, None, "supervisor", "XH", "XH.teach", True),
    (None, None, "academic_affairs", "XH", "XH.teach", False),
    (None, None, "class_teacher", "XH", "XH.teach.ct", True),
    (None, None, "class_teacher", "XH", "XH.teach.ct", False),
    (None, None, "teacher", "XH", "XH.teach.t", True),
    (None, None, "teacher", "XH", "XH.teach.t", False),
    (None, None, "teacher", "XH", "XH.teach.t", False),
    (None, None, "customer_service", "XH", "XH.cs", True),
    (None, None, "customer_service", "XH", "XH.cs", False),
]

# Staff names come from these pairs so that usernames can be their pinyin.
STAFF_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
]
STAFF_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("婷", "ting"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("晨", "chen"),
    ("欣怡", "xinyi"),
    ("浩然", "haoran"),
    ("雨涵", "yuhan"),
    ("志强", "zhiqiang"),
    ("海燕", "haiyan"),
    ("晓东", "xiaodong"),
    ("建平", "jianping"),
    ("佳琪", "jiaqi"),
    ("文博", "wenbo"),
    ("思远", "siyuan"),
    ("一鸣", "yiming"),
    ("嘉怡", "jiayi"),
    ("梦瑶", "mengyao"),
    ("俊峰", "junfeng"),
    ("丽华", "lihua"),
    ("春燕", "chunyan"),
    ("立新", "lixin"),
    ("子豪", "zihao"),
    ("颖", "ying"),
    ("鹏", "peng"),
]

# Given names of children born 2008–2020 (Faker's zh_CN list is a generation older).
KID_GIVEN = {
    "男": [
        "子轩",
        "浩宇",
        "宇轩",
        "一鸣",
        "俊熙",
        "睿泽",
        "浩然",
        "子墨",
        "宇航",
        "奕辰",
        "博文",
        "铭轩",
        "皓轩",
        "思远",
        "天佑",
        "明哲",
        "梓豪",
        "嘉树",
        "俊杰",
        "泽宇",
        "昊",
        "睿",
        "航",
        "哲",
        "辰",
        "子豪",
        "煜城",
        "若愚",
        "景行",
        "修远",
    ],
    "女": [
        "欣怡",
        "梓涵",
        "诗涵",
        "一诺",
        "雨桐",
        "可馨",
        "语嫣",
        "梓萱",
        "若汐",
        "思琪",
        "佳怡",
        "紫涵",
        "依诺",
        "雨萱",
        "欣妍",
        "子涵",
        "沐晴",
        "安琪",
        "悦",
        "琳",
        "萱",
        "彤",
        "梦琪",
        "静怡",
        "书瑶",
        "芷若",
        "语桐",
        "晨曦",
        "诗雨",
        "念慈",
    ],
}

GRADES = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "初一", "初二", "初三", "高一", "高二", "高三"]
GRADE_WEIGHTS = [6, 8, 10, 11, 11, 10, 10, 9, 8, 7, 6, 4]

# China's mobile prefixes in use.
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]

# name, subject, level, lesson minutes, total lessons, price, grade index range (inclusive)
COURSES = [
    ("小学数学思维", "数学", "小学", 90, 24, Decimal("4680.00"), (0, 5)),
    ("初中数学培优", "数学", "初中", 120, 30, Decimal("7200.00"), (6, 8)),
    ("高中数学冲刺", "数学", "高中", 120, 20, Decimal("8800.00"), (9, 11)),
    ("少儿英语启蒙", "英语", "入门", 60, 48, Decimal("6980.00"), (0, 2)),
    ("新概念英语二册", "英语", "中级", 90, 36, Decimal("5980.00"), (3, 8)),
    ("小学语文阅读写作", "语文", "小学", 90, 20, Decimal("3980.00"), (1, 5)),
    ("初中物理同步提高", "物理", "初中", 90, 24, Decimal("5280.00"), (7, 8)),
    ("国学经典诵读", "国学", "启蒙", 60, 16, Decimal("2560.00"), (0, 8)),
    ("Scratch 创意编程", "编程", "入门", 90, 24, Decimal("4320.00"), (1, 6)),
    ("Python 编程基础", "编程", "进阶", 120, 24, Decimal("5760.00"), (4, 11)),
    ("硬笔书法", "书法", "基础", 60, 20, Decimal("2200.00"), (0, 8)),
    ("软笔书法", "书法", "提高", 90, 20, Decimal("3200.00"), (2, 11)),
]

CLASS_SLOTS = ["周六上午", "周六下午", "周日上午", "周日下午", "周三晚", "周五晚", "周二晚"]
CLASS_KINDS = {"large": ("大班", 20, (30, 45)), "small": ("小班", 60, (8, 15)), "one_to_one": ("1对1", 20, (1, 1))}
GROUPS_PER_CAMPUS = 20

STUDENT_COUNT = 300
STUDENT_STATUSES = {"active": 85, "suspended": 9, "withdrawn": 6}

LEAD_COUNT = 2000
LEAD_DUPLICATES = 20
LEAD_SOURCES = {"wechat_official_account": 25, "douyin": 20, "street": 10, "referral": 20, "website": 15, "phone": 10}
LEAD_STATUSES = {"new": 25, "contacted": 30, "visited": 12, "trial": 10, "won": 8, "invalid": 15}
# Chance that a lead of this status sits in the public pool (no owner): about 30% overall.
LEAD_UNOWNED = {"new": 0.6, "contacted": 0.25, "invalid": 0.4}
LEAD_NOTES = [
    "家长希望周末上课",
    "孩子数学成绩中等，想冲刺重点中学",
    "已加微信，约本周六到校试听",
    "对价格比较敏感，需要优惠方案",
    "之前在别的机构学过一年英语",
    "朋友推荐过来的，意向较强",
    "想了解小班和一对一的区别",
    "孩子比较内向，家长希望找耐心的老师",
    "下午四点后方便接电话",
    "暑假期间集中上课",
    "离校区较远，关心交通",
    "已试听，等家长商量后答复",
]
# Follow-up records (跟进记录) of the leads an advisor has worked, by the lead's status: one of the
# paths of (kind, outcome), the last step at the lead's last update.
FOLLOW_UP_PATHS = {
    "contacted": [
        [("phone", "no_answer"), ("phone", "reached")],
        [("phone", "reached")],
        [("wechat", "interested")],
        [("phone", "callback"), ("phone", "interested")],
    ],
    "visited": [
        [("phone", "reached"), ("phone", "visit_booked"), ("visit", "interested")],
        [("wechat", "interested"), ("visit", "reached")],
    ],
    "trial": [
        [("phone", "interested"), ("phone", "trial_booked"), ("trial", "interested")],
        [("visit", "interested"), ("trial", "reached")],
    ],
    "won": [
        [("phone", "interested"), ("phone", "trial_booked"), ("trial", "interested"), ("visit", "reached")],
        [("wechat", "trial_booked"), ("trial", "interested")],
    ],
    "invalid": [
        [("phone", "no_answer")],
        [("phone", "not_interested")],
        [("phone", "no_answer"), ("sms", "no_answer")],
    ],
}
FOLLOW_UP_NOTES = {
    "no_answer": ["电话未接通，稍后再打。", "连续两次无人接听，已发短信说明来意。"],
    "reached": [
        "已和家长沟通孩子的学习情况。",
        "介绍了课程体系和班型，家长表示会考虑。",
        "家长在外地出差，约下周再聊。",
    ],
    "interested": ["家长对小班课很感兴趣，问了上课时间。", "孩子本人也想学，家长希望尽快安排。"],
    # by kind and outcome where the kind says more
    "visit:reached": ["家长到校参观了教室，了解了师资。", "带孩子来校区看了环境，拿了课程资料。"],
    "visit:interested": ["参观后家长很满意，想约试听。", "家长看了教室和作品墙，当场问了报名流程。"],
    "trial:reached": ["试听结束，孩子说还要再想想。", "试听正常完成，家长回去商量。"],
    "trial:interested": ["试听反馈很好，家长在比较价格。", "孩子很喜欢老师，家长准备报名。"],
    "callback": ["家长正在开会，约晚上再打。", "家长让周末再联系。"],
    "visit_booked": ["约好本周六上午到校参观。", "约了下周三下午来校区面谈。"],
    "trial_booked": ["已约周日上午试听一节。", "给孩子安排了下周的试听课。"],
    "not_interested": ["家长表示暂时没有需求。", "已在其他机构报名。"],
}
FOLLOW_UP_NEXT_STEPS = {
    "reached": "发送课程介绍和价格表",
    "interested": "准备试听安排",
    "callback": "再次电话联系",
    "visit_booked": "提前一天提醒到访",
    "trial_booked": "确认试听老师和教室",
}
# Subjects a lead is interested in (the tags a course distribution rule matches).
LEAD_SUBJECTS = {"数学": 30, "英语": 30, "语文": 10, "物理": 6, "国学": 6, "编程": 12, "书法": 6}
INVALID_NOTES = ["空号", "号码错误，无法接通", "暂无需求", "同行咨询", "家长表示孩子已报其他机构"]

TICKET_TYPES = [
    ("consultation", "课程咨询", "课程、班型、价格和排课的咨询"),
    ("leave_reschedule", "请假调课", "学员请假、调课、补课"),
    ("complaint", "投诉建议", "对教学、服务、环境的投诉与建议"),
    ("refund", "退费申请", "课时费退还与转课"),
    ("tech_support", "技术支持", "线上课堂、APP、账号问题"),
    ("repair", "设备报修", "校区设备、设施维修"),
]
TICKET_TYPE_WEIGHTS = {
    "consultation": 25,
    "leave_reschedule": 30,
    "complaint": 10,
    "refund": 8,
    "tech_support": 12,
    "repair": 15,
}
TICKET_COUNT = 500
TICKET_PRIORITIES = {"low": 20, "normal": 55, "high": 18, "urgent": 7}
TICKET_CHANNELS = {"web": 25, "phone": 25, "wechat": 30, "email": 5, "api": 5, "walk_in": 10}
TICKET_OPEN_STATUSES = {"new": 20, "assigned": 25, "in_progress": 35, "pending": 20}
TICKET_VERSIONS = {"new": 1, "assigned": 2, "in_progress": 3, "pending": 4, "resolved": 4, "closed": 5}
# The moves a demo ticket made to reach its status (each one a timeline row and a version).
TICKET_PATHS = {
    "new": [],
    "assigned": ["assigned"],
    "in_progress": ["assigned", "in_progress"],
    "pending": ["assigned", "in_progress", "pending"],
    "resolved": ["assigned", "in_progress", "resolved"],
    "closed": ["assigned", "in_progress", "resolved", "closed"],
}
# Replies the handler sends on the way (to the requester), by the status the ticket moves to.
TICKET_REPLIES = {
    "in_progress": [
        "您好，已收到您的反馈，我们正在处理，稍后给您答复。",
        "收到，已转给相关老师跟进，今天内回复您。",
        "您好，这边已经开始处理了，有进展第一时间告诉您。",
    ],
    "pending": [
        "麻烦您补充一下孩子的姓名和所在班级，方便我们核实。",
        "请问您方便的上课时间是哪几天？确认后我们马上安排。",
        "需要您提供一下缴费凭证的截图，谢谢配合。",
    ],
    "resolved": [
        "已经为您处理好了，如还有问题可以直接回复这条消息。",
        "已安排妥当，具体时间已发到您的手机上，请查收。",
        "问题已解决，感谢您的耐心等待。",
    ],
}
# Internal notes colleagues leave on some tickets (not shown to the requester).
TICKET_NOTES = [
    "家长情绪比较急，回访时注意语气。",
    "已和班主任确认过情况。",
    "同类问题本周第二次出现，建议汇总给主管。",
    "已电话沟通，家长表示理解。",
]
# What requesters typed into the ticket types' forms (app.tickets.types.defaults).
TICKET_PREFERRED_TIMES = ["周六上午", "周六下午", "周日上午", "周日下午", "工作日晚上 18:30 以后", "周三、周五晚上"]
TICKET_EXPECTATIONS = [
    "希望尽快给个说法，并安排专人跟进。",
    "希望调整授课方式，一个月后再回访。",
    "希望改善后通知家长。",
    "希望退还这次的课时。",
    "只是提个建议，不需要回复。",
]
TICKET_DEVICES = [
    "iPhone 15 / iOS 18",
    "华为 Mate 60 / HarmonyOS 4",
    "小米 14 / Android 14",
    "iPad Air / iPadOS 17",
    "Windows 11 / Chrome",
    "MacBook / Safari",
]
# Form values a ticket's own words give away (the first keyword found in its title or description).
TICKET_FIELD_HINTS = {
    "leave_reschedule": {"reason": [("发烧", "生病"), ("考试", "考试"), ("学校活动", "其他"), ("出游", "家中有事")]},
    "complaint": {
        "category": [
            ("节奏", "教学质量"),
            ("纪律", "教学质量"),
            ("作业", "教学质量"),
            ("空调", "环境设施"),
            ("停车", "环境设施"),
        ]
    },
    "refund": {"reason": [("搬迁", "搬家"), ("不适合", "对课程不满意"), ("转", "其他"), ("重复", "其他")]},
    "tech_support": {
        "platform": [("线上课堂", "直播课"), ("回放", "直播课"), ("APP", "App"), ("上传", "App"), ("登录", "小程序")]
    },
    "repair": {"equipment": [("投影仪", "投影仪"), ("打印机", "电脑"), ("WiFi", "网络"), ("笔架", "桌椅")]},
}
# Where the repairs whose title names no classroom are.
REPAIR_PLACES = {"前台打印机卡纸": "前台", "走廊灯不亮": "二楼走廊"}
ROOMS = ["101教室", "102教室", "201教室", "203教室", "302教室", "多功能厅", "前台", "阅览区"]

# (title, description); placeholders: {student} {course} {teacher} {room} {grade}
TICKET_TEXTS = {
    "consultation": [
        ("咨询{course}的上课时间", "家长想了解{course}本学期的排课，能否安排在周末。"),
        ("{grade}孩子适合哪个班型", "孩子{grade}，家长在小班和一对一之间犹豫，请老师给建议。"),
        ("{course}课时和价格咨询", "家长询问{course}总课时、单价以及是否有续费优惠。"),
        ("想增报{course}", "{student}家长希望在现有课程外再报{course}，询问能否试听。"),
        ("咨询寒假集训营安排", "家长想了解寒假集训的日期、内容和报名方式。"),
    ],
    "leave_reschedule": [
        ("{student}本周六请假", "{student}发烧，本周六的{course}请假一次，希望安排补课。"),
        ("申请将{course}调到周日", "{student}周六有学校活动，申请把{course}调到周日下午。"),
        ("{student}下周出游请假两次", "家庭出游，下周的两次{course}都需要请假，请{teacher}老师留意。"),
        ("补课时间确认", "{student}上次请假的{course}需要补课，请班主任确认补课时间。"),
        ("考试周暂停上课", "{student}学校期中考试，申请暂停两周{course}。"),
    ],
    "complaint": [
        ("对{course}上课节奏的建议", "家长反映{teacher}老师讲得偏快，{student}跟不上，希望适当放慢。"),
        ("{room}空调温度太低", "上课时{room}空调太冷，孩子们反映不舒服。"),
        ("作业批改反馈不及时", "{student}的作业一周多没有批改反馈，家长希望加快。"),
        ("校区附近停车不便", "接送孩子时很难停车，希望校区能协调周边停车位。"),
        ("课堂纪律问题", "家长反映{course}课堂上有同学打闹，影响{student}听课。"),
    ],
    "refund": [
        ("{student}申请退还剩余课时费", "因家庭搬迁，{student}无法继续上{course}，申请退还剩余课时费。"),
        ("{course}转课申请", "{student}想从{course}转到其他课程，差价如何处理。"),
        ("重复缴费退款", "家长通过公众号重复支付了一次学费，申请退回重复款项。"),
        ("试听后申请退费", "{student}试听后觉得不适合{course}，申请全额退费。"),
    ],
    "tech_support": [
        ("线上课堂无法进入", "{student}点击上课链接后一直转圈，无法进入{course}线上课堂。"),
        ("APP收不到上课提醒", "家长手机APP收不到{course}的上课提醒，已检查通知权限。"),
        ("作业无法上传", "{student}上传作业照片时提示失败，换了网络也不行。"),
        ("家长账号登录失败", "家长重置密码后仍无法登录，提示账号异常。"),
        ("课程回放没有声音", "{course}的课程回放视频没有声音，{student}无法复习。"),
    ],
    "repair": [
        ("{room}投影仪无法开机", "{room}的投影仪按电源键没有反应，影响今晚上课。"),
        ("前台打印机卡纸", "前台打印机频繁卡纸，无法打印合同和收据。"),
        ("{room}饮水机漏水", "{room}旁饮水机底部漏水，地面湿滑，需尽快处理。"),
        ("{room}白板笔架松动", "{room}白板笔架松动快要掉下来了。"),
        ("走廊灯不亮", "二楼走廊有两盏灯不亮，晚上放学时光线较暗。"),
        ("{room}网络不稳定", "{room}的WiFi经常断开，线上连麦受影响。"),
    ],
}

NOTIFICATIONS = [
    ("欢迎使用书院", "这是一所演示学校：两个校区、三十多位员工、两千条线索和五百张工单，可随意操作。"),
    ("从线索公海开始", "约三成线索还没有负责人，在公海里认领一条试试跟进流程。"),
    ("演示账号", "每个角色都有一个演示账号，密码均为 demo12345，可切换体验不同权限。"),
]
