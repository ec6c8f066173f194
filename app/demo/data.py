"""The fixed content of the demo: parks, chains, accounts, enterprises and the Chinese texts.

Names of well-known companies are used as demo data only; their leads, amounts and dates are
made up by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.models import Role
from app.enterprises.models import Ownership
from app.pipeline.lifecycle import Stage
from app.pipeline.models import ContactType, LeadSource

# The password of every demo account (printed by `flask demo load`).
DEMO_PASSWORD = "Demo@2026"  # noqa: S105
# The same seed and the same day give the same data.
SEED = 20260101
# Stage history reaches back about three years.
HISTORY_DAYS = 1090
LEAD_COUNT = 300

# --- parks and chains ------------------------------------------------------------------------

# (code, name, description), in sort order 1..5.
PARKS: tuple[tuple[str, str, str], ...] = (
    ("IC", "集成电路产业园", "四大新兴产业专业园区之一。2023年目标：产业规模100亿元。"),
    (
        "DISPLAY",
        "新型显示产业园",
        "四大新兴产业专业园区之一。2023年目标：产业规模500亿元；京东方青岛基地达产。",
    ),
    ("MATERIALS", "绿色低碳新材料产业园", "四大新兴产业专业园区之一。"),
    ("HYDROGEN", "氢能与储能产业园", "四大新兴产业专业园区之一。"),
    ("MARINE", "海洋产业园", "2023年目标：引进亿元以上海洋产业项目50个。"),
)

# (code, name, description, links upstream → downstream)
CHAINS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "CHIP",
        "芯",
        "集成电路产业链（芯屏产业集群）。",
        ("EDA/IP", "芯片设计", "晶圆制造", "封装测试", "半导体设备", "半导体材料"),
    ),
    (
        "DISPLAY",
        "屏",
        "新型显示产业链（芯屏产业集群）：上游材料与设备，中游驱动芯片与面板，下游模组与终端。",
        (
            "玻璃基板",
            "偏光片",
            "OLED/液晶材料",
            "靶材",
            "显示设备",
            "驱动芯片",
            "面板制造",
            "模组",
            "终端应用",
        ),
    ),
    (
        "HYDROGEN",
        "氢能",
        "氢能产业链：制、储、运、加、用。",
        ("制氢", "储运", "加氢站", "燃料电池", "整车应用"),
    ),
)

# The chain whose links tag the leads and projects of a park.
PARK_CHAIN = {"IC": "CHIP", "DISPLAY": "DISPLAY", "HYDROGEN": "HYDROGEN"}

# --- accounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    role: Role
    parks: tuple[str, ...] = ()


ACCOUNTS: tuple[Account, ...] = (
    Account("admin", "系统管理员", Role.ADMIN),
    Account("leader", "刘建国", Role.LEADER),
    Account("manager", "王海涛", Role.MANAGER, ("IC", "DISPLAY")),
    Account("manager2", "赵明远", Role.MANAGER, ("MATERIALS", "HYDROGEN", "MARINE")),
    Account("officer", "张伟", Role.OFFICER),
    Account("officer2", "李娜", Role.OFFICER),
    Account("officer3", "陈晓东", Role.OFFICER),
)

# Which officers court the enterprises of a sector (weights).
SECTOR_OFFICERS: dict[str, tuple[tuple[str, int], ...]] = {
    "IC": (("officer", 7), ("officer2", 3)),
    "DISPLAY": (("officer2", 6), ("officer", 4)),
    "MATERIALS": (("officer2", 5), ("officer3", 5)),
    "HYDROGEN": (("officer3", 8), ("officer2", 2)),
    "MARINE": (("officer3", 6), ("officer", 4)),
}

# --- enterprises ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """One demo enterprise: where it tends to invest and how big it is."""

    name: str
    short: str
    sector: str  # park code of most of its leads
    ownership: Ownership
    region: str
    region_code: str | None  # administrative division of the credit code; None: no code
    industry: str
    scale: str = "mid"  # "big" enterprises may bring 50亿元+ leads
    links: tuple[str, ...] = ()  # preferred chain links
    other_parks: tuple[str, ...] = ()
    global500: bool = False
    china500: bool = False
    listed: bool = False


_P, _S, _C, _F, _H = (
    Ownership.PRIVATE,
    Ownership.SOE,
    Ownership.CENTRAL_SOE,
    Ownership.FOREIGN,
    Ownership.HMT,
)

# fmt: off
COMPANIES: tuple[Company, ...] = (
    # --- integrated circuits
    Company("芯恩（青岛）集成电路有限公司", "芯恩", "IC", _P, "山东省青岛市", "370211",
            "集成电路制造", "big", ("晶圆制造", "芯片设计")),
    Company("华润微电子有限公司", "华润微", "IC", _C, "江苏省无锡市", "320214", "功率半导体",
            "big", ("晶圆制造", "封装测试"), listed=True),
    Company("青岛海芯微电子科技有限公司", "海芯微", "IC", _P, "山东省青岛市", "370211",
            "芯片设计", "small", ("芯片设计",)),
    Company("上海华芯创智半导体有限公司", "华芯创智", "IC", _P, "上海市", "310115", "EDA软件",
            "mid", ("EDA/IP", "芯片设计")),
    Company("深圳市芯联测封装技术有限公司", "芯联测", "IC", _P, "广东省深圳市", "440305",
            "封装测试", "mid", ("封装测试",)),
    Company("北京中科晶源半导体设备股份有限公司", "中科晶源", "IC", _P, "北京市", "110108",
            "半导体设备", "mid", ("半导体设备",), listed=True),
    Company("江苏博纳电子材料有限公司", "博纳材料", "IC", _P, "江苏省苏州市", "320505",
            "电子化学品", "mid", ("半导体材料",), ("MATERIALS",)),
    Company("合肥睿晶微电子股份有限公司", "睿晶微", "IC", _P, "安徽省合肥市", "340104",
            "存储芯片设计", "mid", ("芯片设计",), listed=True),
    Company("青岛西海岸集成电路产业投资发展有限公司", "西海岸芯投", "IC", _S, "山东省青岛市",
            "370211", "产业投资", "big", ("晶圆制造", "封装测试"), ("DISPLAY",)),
    Company("应用材料公司（Applied Materials, Inc.）", "应用材料", "IC", _F, "美国", None,
            "半导体设备", "big", ("半导体设备",), listed=True),
    Company("武汉光谷芯测科技有限公司", "光谷芯测", "IC", _P, "湖北省武汉市", "420111",
            "芯片测试", "small", ("封装测试",)),
    Company("杭州中晶硅材料股份有限公司", "中晶硅材", "IC", _P, "浙江省杭州市", "330106",
            "硅片", "mid", ("半导体材料",), ("MATERIALS",), listed=True),
    Company("成都锐思射频技术有限公司", "锐思射频", "IC", _P, "四川省成都市", "510107",
            "射频芯片", "small", ("芯片设计",)),
    # --- new display
    Company("京东方科技集团股份有限公司", "京东方", "DISPLAY", _S, "北京市", "110105",
            "半导体显示", "big", ("面板制造", "模组", "驱动芯片"), ("IC",), china500=True,
            listed=True),
    Company("歌尔股份有限公司", "歌尔", "DISPLAY", _P, "山东省潍坊市", "370705", "智能硬件",
            "big", ("终端应用", "模组"), china500=True, listed=True),
    Company("海信视像科技股份有限公司", "海信视像", "DISPLAY", _S, "山东省青岛市", "370211",
            "显示终端", "big", ("终端应用", "驱动芯片", "模组"), ("IC",), china500=True,
            listed=True),
    Company("三星显示株式会社", "三星显示", "DISPLAY", _F, "韩国", None, "OLED面板", "big",
            ("面板制造",), global500=True),
    Company("AGC株式会社（旭硝子）", "AGC", "DISPLAY", _F, "日本", None, "玻璃基板", "big",
            ("玻璃基板",), ("MATERIALS",), listed=True),
    Company("鸿海精密工业股份有限公司", "鸿海", "DISPLAY", _H, "中国台湾", None, "电子制造",
            "big", ("终端应用", "模组"), ("IC",), global500=True, listed=True),
    Company("青岛光羿偏光材料有限公司", "光羿偏光", "DISPLAY", _P, "山东省青岛市", "370211",
            "偏光片", "mid", ("偏光片",)),
    Company("烟台瑞华显示材料股份有限公司", "瑞华材料", "DISPLAY", _P, "山东省烟台市", "370613",
            "OLED材料", "mid", ("OLED/液晶材料",), ("MATERIALS",), listed=True),
    Company("宁波江晟高纯金属材料有限公司", "江晟金属", "DISPLAY", _P, "浙江省宁波市", "330282",
            "溅射靶材", "mid", ("靶材",), ("IC",)),
    Company("深圳市集创显示驱动技术有限公司", "集创驱动", "DISPLAY", _P, "广东省深圳市", "440305",
            "显示驱动芯片", "mid", ("驱动芯片",), ("IC",)),
    Company("苏州精测显示装备股份有限公司", "精测装备", "DISPLAY", _P, "江苏省苏州市", "320505",
            "显示检测设备", "mid", ("显示设备",), listed=True),
    Company("青岛海视车载显示科技有限公司", "海视车载", "DISPLAY", _P, "山东省青岛市", "370211",
            "车载显示", "small", ("模组",)),
    Company("合肥辰显光电科技有限公司", "辰显光电", "DISPLAY", _P, "安徽省合肥市", "340104",
            "Micro LED显示", "big", ("面板制造",)),
    Company("青岛智显未来科技有限公司", "智显未来", "DISPLAY", _P, "山东省青岛市", "370211",
            "VR/AR终端", "small", ("终端应用",)),
    # --- green low-carbon new materials
    Company("万华化学集团股份有限公司", "万华化学", "MATERIALS", _S, "山东省烟台市", "370613",
            "化工新材料", "big", (), ("HYDROGEN",), china500=True, listed=True),
    Company("中国宝武钢铁集团有限公司", "宝武", "MATERIALS", _C, "上海市", "310113",
            "钢铁新材料", "big", (), ("MARINE",), global500=True, china500=True),
    Company("青岛中科碳纤维复合材料有限公司", "中科碳纤", "MATERIALS", _P, "山东省青岛市",
            "370211", "碳纤维", "mid"),
    Company("山东恒道高分子材料股份有限公司", "恒道高分子", "MATERIALS", _P, "山东省烟台市",
            "370681", "改性塑料", "mid", listed=True),
    Company("青岛海晶化工新材料有限公司", "海晶化工", "MATERIALS", _S, "山东省青岛市", "370211",
            "化工新材料", "mid"),
    Company("青岛绿源生物降解材料有限公司", "绿源降解", "MATERIALS", _P, "山东省青岛市",
            "370211", "生物可降解材料", "small"),
    Company("长沙锂源新能源材料股份有限公司", "锂源材料", "MATERIALS", _P, "湖南省长沙市",
            "430104", "锂电正极材料", "big", (), ("HYDROGEN",), listed=True),
    Company("常州晶膜光伏新材料有限公司", "晶膜新材", "MATERIALS", _P, "江苏省常州市", "320411",
            "光伏胶膜", "mid"),
    Company("青岛烯材科技有限公司", "烯材科技", "MATERIALS", _P, "山东省青岛市", "370211",
            "石墨烯", "small"),
    Company("青岛循环再生资源科技有限公司", "循环再生", "MATERIALS", _P, "山东省青岛市",
            "370211", "再生资源", "small"),
    Company("天津渤化涂料新材料有限公司", "渤化涂料", "MATERIALS", _S, "天津市", "120116",
            "高性能涂料", "mid"),
    Company("东营华泰轻量化材料股份有限公司", "华泰轻材", "MATERIALS", _P, "山东省东营市",
            "370502", "汽车轻量化材料", "mid", listed=True),
    # --- hydrogen and storage
    Company("中国石油化工集团有限公司", "中国石化", "HYDROGEN", _C, "北京市", "110105",
            "石油化工", "big", ("制氢", "加氢站"), ("MATERIALS",), global500=True,
            china500=True),
    Company("国家电力投资集团有限公司", "国家电投", "HYDROGEN", _C, "北京市", "110102", "能源",
            "big", ("制氢", "燃料电池"), global500=True, china500=True),
    Company("潍柴动力股份有限公司", "潍柴动力", "HYDROGEN", _S, "山东省潍坊市", "370705",
            "动力系统", "big", ("燃料电池", "整车应用"), china500=True, listed=True),
    Company("宁德时代新能源科技股份有限公司", "宁德时代", "HYDROGEN", _P, "福建省宁德市",
            "350902", "动力及储能电池", "big", (), ("MATERIALS",), china500=True, listed=True),
    Company("青岛氢航科技有限公司", "氢航科技", "HYDROGEN", _P, "山东省青岛市", "370211",
            "氢能储运", "small", ("储运",)),
    Company("上海氢锐动力科技有限公司", "氢锐动力", "HYDROGEN", _P, "上海市", "310115",
            "燃料电池电堆", "mid", ("燃料电池",)),
    Company("北京氢源膜电极技术有限公司", "氢源膜电极", "HYDROGEN", _P, "北京市", "110108",
            "膜电极", "small", ("燃料电池",)),
    Company("江苏国储氢能装备有限公司", "国储氢能", "HYDROGEN", _S, "江苏省苏州市", "320582",
            "储氢装备", "mid", ("储运",)),
    Company("青岛氢途重卡科技有限公司", "氢途重卡", "HYDROGEN", _P, "山东省青岛市", "370211",
            "氢燃料重卡", "mid", ("整车应用",)),
    Company("合肥阳储能源科技股份有限公司", "阳储能源", "HYDROGEN", _P, "安徽省合肥市",
            "340104", "储能系统", "mid", ("制氢",), listed=True),
    # --- marine industry
    Company("中国船舶集团有限公司", "中国船舶", "MARINE", _C, "上海市", "310115", "船舶制造",
            "big", global500=True, china500=True),
    Company("中国海洋石油集团有限公司", "中国海油", "MARINE", _C, "北京市", "110101",
            "海洋油气", "big", ("制氢",), ("HYDROGEN",), global500=True, china500=True),
    Company("山东省港口集团有限公司", "山东港口", "MARINE", _S, "山东省青岛市", "370202",
            "港口物流", "big", ("整车应用", "加氢站"), ("HYDROGEN",), china500=True),
    Company("中集来福士海洋工程有限公司", "中集来福士", "MARINE", _S, "山东省烟台市", "370602",
            "海洋工程装备", "big"),
    Company("山东海风装备制造有限公司", "海风装备", "MARINE", _P, "山东省烟台市", "370602",
            "海上风电装备", "mid"),
    Company("青岛深蓝渔业发展有限公司", "深蓝渔业", "MARINE", _S, "山东省青岛市", "370211",
            "深远海养殖", "mid"),
    Company("青岛蓝海生物医药科技有限公司", "蓝海生物", "MARINE", _P, "山东省青岛市", "370211",
            "海洋生物医药", "small"),
    Company("青岛海淡装备科技有限公司", "海淡装备", "MARINE", _P, "山东省青岛市", "370211",
            "海水淡化装备", "small"),
)
# fmt: on

# --- lead titles ----------------------------------------------------------------------------

# Titles by chain link (park with a chain) or by park (no chain, or no link).
LINK_TITLES: dict[str, tuple[str, ...]] = {
    "EDA/IP": ("EDA工具研发中心项目", "IP核设计服务平台项目"),
    "芯片设计": (
        "芯片设计研发总部项目",
        "车规级MCU设计项目",
        "射频芯片设计中心项目",
        "AI芯片研发项目",
    ),
    "晶圆制造": (
        "12英寸晶圆制造项目",
        "8英寸特色工艺产线项目",
        "功率半导体晶圆项目",
        "碳化硅功率器件项目",
    ),
    "封装测试": ("先进封装测试基地项目", "SiP系统级封装项目", "晶圆级封装项目"),
    "半导体设备": ("半导体设备制造基地项目", "刻蚀设备零部件项目", "半导体设备维修服务中心项目"),
    "半导体材料": ("电子特气项目", "光刻胶及湿电子化学品项目", "大硅片材料项目"),
    "玻璃基板": ("高世代玻璃基板项目", "超薄柔性玻璃项目"),
    "偏光片": ("偏光片生产线项目", "超宽幅偏光片项目"),
    "OLED/液晶材料": ("OLED发光材料项目", "液晶材料生产基地项目"),
    "靶材": ("高纯溅射靶材项目", "ITO靶材项目"),
    "显示设备": ("显示面板设备制造项目", "蒸镀设备研发项目", "显示检测设备项目"),
    "驱动芯片": ("显示驱动芯片项目", "TDDI芯片研发中心项目"),
    "面板制造": (
        "第6代AMOLED面板生产线项目",
        "Mini LED背光面板项目",
        "Micro LED显示项目",
        "车载显示面板项目",
    ),
    "模组": ("显示模组生产基地项目", "车载显示模组项目", "柔性OLED模组项目"),
    "终端应用": ("智能终端整机项目", "VR/AR终端项目", "商用显示终端项目", "笔记本电脑整机项目"),
    "制氢": ("绿电制氢示范项目", "工业副产氢提纯项目", "海上风电制氢项目"),
    "储运": ("液氢储运装备项目", "高压储氢瓶项目", "管道输氢示范项目"),
    "加氢站": ("油氢合建站项目", "加氢站网络建设项目"),
    "燃料电池": ("燃料电池电堆生产基地项目", "膜电极项目", "燃料电池系统集成项目"),
    "整车应用": ("氢燃料电池重卡项目", "氢能港口物流车项目", "氢能公交示范项目"),
}
PARK_TITLES: dict[str, tuple[str, ...]] = {
    "IC": ("集成电路产业基地项目", "半导体研发中心项目"),
    "DISPLAY": ("新型显示产业基地项目", "显示技术研究院项目"),
    "MATERIALS": (
        "高性能碳纤维项目",
        "生物可降解材料项目",
        "锂电池正极材料项目",
        "光伏胶膜材料项目",
        "高端聚烯烃项目",
        "石墨烯新材料研发中心项目",
        "新能源汽车轻量化材料项目",
        "再生资源循环利用项目",
        "电子级化学品项目",
        "高性能涂料项目",
        "特种工程塑料项目",
        "氢能材料中试基地项目",
    ),
    "HYDROGEN": (
        "储能电池系统集成项目",
        "电网侧储能电站项目",
        "钠离子电池项目",
        "液流电池储能项目",
        "氢能产业园项目",
    ),
    "MARINE": (
        "海洋工程装备制造项目",
        "海上风电装备项目",
        "海洋生物医药项目",
        "深远海养殖工船项目",
        "船舶配套产业园项目",
        "海洋新材料项目",
        "智慧港航服务项目",
        "海水淡化装备项目",
        "海洋科技研发中心项目",
        "LNG船舶配套项目",
    ),
}

# --- the pipeline ---------------------------------------------------------------------------

# How many of the leads end in each stage (sums to LEAD_COUNT).
STAGE_COUNTS: dict[Stage, int] = {
    Stage.LEAD: 42,
    Stage.CONTACTED: 48,
    Stage.NEGOTIATING: 50,
    Stage.SIGNED: 30,
    Stage.CONSTRUCTION: 30,
    Stage.PRODUCTION: 24,
    Stage.FULL_PRODUCTION: 20,
    Stage.ON_HOLD: 24,
    Stage.DROPPED: 32,
}
BIG_LEADS = 12  # 50亿元+
MAJOR_LEADS = 70  # 5亿元 to 50亿元
UNKNOWN_AMOUNT_LEADS = 8  # early leads whose amount nobody knows yet
STALE_SHARE = 0.15

# Days spent before entering a stage (min, max).
GAP_DAYS: dict[Stage, tuple[int, int]] = {
    Stage.CONTACTED: (5, 60),
    Stage.NEGOTIATING: (20, 150),
    Stage.SIGNED: (30, 240),
    Stage.CONSTRUCTION: (30, 200),
    Stage.PRODUCTION: (150, 450),
    Stage.FULL_PRODUCTION: (120, 365),
    Stage.ON_HOLD: (20, 150),
    Stage.DROPPED: (15, 180),
}
RESUME_DAYS = (40, 200)
# Days between the last stage change and today, by final stage (min, max).
TAIL_DAYS: dict[Stage, tuple[int, int]] = {
    Stage.LEAD: (0, 60),
    Stage.CONTACTED: (0, 80),
    Stage.NEGOTIATING: (0, 150),
    Stage.SIGNED: (0, 150),
    Stage.CONSTRUCTION: (10, 300),
    Stage.PRODUCTION: (10, 300),
    Stage.FULL_PRODUCTION: (0, 400),
    Stage.ON_HOLD: (10, 250),
    Stage.DROPPED: (0, 500),
}

SOURCE_WEIGHTS: tuple[tuple[LeadSource, int], ...] = (
    (LeadSource.BUSINESS_REFERRAL, 20),
    (LeadSource.EXHIBITION, 15),
    (LeadSource.AGENCY, 10),
    (LeadSource.VISIT, 20),
    (LeadSource.GOVERNMENT, 10),
    (LeadSource.ONLINE, 8),
    (LeadSource.INBOUND, 12),
    (LeadSource.OTHER, 5),
)

DROP_REASONS: tuple[str, ...] = (
    "企业战略调整，项目改在其他城市落地。",
    "企业资金链紧张，投资计划取消。",
    "用地条件无法满足企业对地块面积的要求。",
    "企业被并购，原投资计划终止。",
    "企业要求的能耗指标无法保障。",
    "同类项目已在其他园区落地，避免重复建设。",
    "企业产品市场下行，暂无扩产计划，经研究终止跟进。",
)
HOLD_NOTES: tuple[str, ...] = (
    "企业内部投资决策调整，项目暂缓推进。",
    "等待企业新一轮融资到位。",
    "项目用地规划调整中，暂缓推进。",
    "企业提出的政策诉求需上级研究，暂缓。",
)

# Contact texts by the stage they belong to: (contact type, summary). Placeholders: {ent} short
# enterprise name, {park} park name, {amount} investment in 亿元.
CONTACT_TEXTS: dict[Stage | None, tuple[tuple[ContactType, str], ...]] = {
    Stage.LEAD: (
        (ContactType.PHONE, "电话联系{ent}投资发展部，了解企业产能布局规划，对方同意进一步沟通。"),
        (ContactType.ONLINE, "通过微信向{ent}推送新区产业政策及{park}招商手册。"),
        (ContactType.EXHIBITION, "在行业展会上与{ent}负责人交流，企业有在北方布局基地的意向。"),
    ),
    Stage.CONTACTED: (
        (ContactType.VISIT, "赴{ent}总部拜访，介绍{park}产业配套和政策，企业表示有投资意向。"),
        (ContactType.RECEPTION, "接待{ent}考察团来访，实地察看{park}标准厂房和备选地块。"),
        (ContactType.MEETING, "与{ent}高层座谈，交流企业发展战略和在新区布局的初步设想。"),
    ),
    Stage.NEGOTIATING: (
        (ContactType.MEETING, "与{ent}就项目用地、厂房代建及产业基金支持进行洽谈。"),
        (ContactType.MEETING, "就投资协议条款进行磋商，重点讨论能耗指标、人才公寓和配套政策。"),
        (ContactType.RECEPTION, "{ent}项目团队来访，对接自然资源、生态环境等部门，梳理落地手续。"),
    ),
    Stage.SIGNED: (
        (ContactType.MEETING, "双方正式签署投资合作协议，项目总投资{amount}亿元。"),
        (ContactType.MEETING, "举行{ent}项目签约仪式，明确项目建设时间表和双方责任分工。"),
    ),
    Stage.CONSTRUCTION: (
        (ContactType.VISIT, "项目举行开工仪式，现场协调施工用水、用电接入问题。"),
        (ContactType.VISIT, "项目正式开工建设，协调办理施工许可证并落实专人服务。"),
    ),
    Stage.PRODUCTION: (
        (ContactType.VISIT, "项目首条产线投产，协调解决员工招聘和物流配套问题。"),
        (ContactType.VISIT, "项目竣工投产，协助企业申报技改及首台套政策支持。"),
    ),
    Stage.FULL_PRODUCTION: (
        (ContactType.VISIT, "项目实现达产，企业反馈产能利用率良好，计划研究后续扩产。"),
    ),
    Stage.ON_HOLD: (
        (ContactType.PHONE, "{ent}告知内部投资计划调整，项目暂缓推进，约定保持定期联系。"),
    ),
    Stage.DROPPED: ((ContactType.PHONE, "{ent}正式函告不再推进该项目，经研究终止跟进。"),),
    None: (
        (ContactType.PHONE, "电话回访{ent}，了解企业近期经营情况及投资计划进展。"),
        (ContactType.ONLINE, "微信沟通项目进展，企业反馈内部决策流程正在推进。"),
        (ContactType.VISIT, "上门走访{ent}，听取企业对项目推进的意见和诉求。"),
        (ContactType.MEETING, "召开项目推进专题会，梳理用地、能耗、环评等事项清单。"),
        (ContactType.RECEPTION, "接待{ent}来访，介绍新区营商环境及{park}最新进展。"),
        (ContactType.OTHER, "陪同{ent}参加新区重点项目集中观摩活动。"),
    ),
}
# Contacts about a signed project (after its signing).
PROJECT_TEXTS: tuple[tuple[ContactType, str], ...] = (
    (ContactType.VISIT, "到项目现场调度建设进度，协调解决施工中遇到的问题。"),
    (ContactType.MEETING, "召开要素保障协调会，落实项目用地、用能和配套道路。"),
    (ContactType.PHONE, "电话了解项目设备采购及安装调试进展。"),
    (ContactType.VISIT, "陪同相关部门现场办公，协助办理规划许可和环评批复。"),
)
NEXT_STEPS: tuple[str, ...] = (
    "报送项目可行性研究材料",
    "安排企业高层来新区考察",
    "协调自然资源局出具用地意见",
    "起草投资协议文本",
    "组织产业基金尽职调查",
    "跟进环评批复",
    "协调供电公司接入方案",
    "召开项目推进专题会",
    "回访企业确认投资决策进度",
    "对接人才公寓需求",
    "提交区招商工作领导小组研究",
    "协调办理施工许可证",
)

# --- people ---------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁于蒋蔡余"
# fmt: off
GIVEN_NAMES: tuple[str, ...] = (
    "志强", "秀英", "建华", "海燕", "国栋", "丽华", "文博", "晓明", "雪梅", "立新",
    "春生", "玉兰", "卫东", "静怡", "浩然", "子涵", "思远", "佳琪", "振宇", "晨曦",
    "俊杰", "慧敏", "永刚", "红梅", "宏伟", "婷婷", "明哲", "欣怡", "鹏飞", "亚楠",
)
# fmt: on
CONTACT_TITLES: tuple[str, ...] = (
    "董事长",
    "总经理",
    "副总裁",
    "投资发展部总监",
    "战略投资部经理",
    "董事会秘书",
    "基建部部长",
    "政府事务总监",
)
