"""What the parser knows besides a standard's item names: the words for levels,
offices, roles and results, the measure words and what each measures, the verbs
whose lesson was watched rather than taught, and the pieces of pattern built
from them, up to the table of every qualifier the parser scans a message for
(`SCAN_TABLE`: kind, the characters it can start with, its pattern). Tables
and patterns only; reading a message with them is scoring.parser's work.
"""

from __future__ import annotations

import re
import string

from scoring.numbers import NUMBER_PATTERN

# --- shared knowledge: levels, grades, roles, units ---------------------------

LEVEL_WORDS = {
    "国家级": "国家级", "全国": "国家级", "国家": "国家级",
    "省级": "省级", "省里": "省级", "在省": "省级",
    "地市级": "市级", "市级": "市级", "市里": "市级", "地市": "市级", "在市": "市级",
    "县级": "县级", "县里": "县级", "在县": "县级",
    "区级": "区级", "区里": "区级",
    "片区": "片区",
    "镇级": "镇级", "镇里": "镇级", "中心校": "镇级",
    "校级": "校级", "校内": "校级", "本校": "校级", "学校": "校级",
}  # fmt: skip
LEVEL_CHARS = {"国": "国家级", "省": "省级", "市": "市级", "县": "县级", "区": "区级",
               "镇": "镇级", "校": "校级"}  # fmt: skip
# Offices that stand for their level: 县教研室组织的 is a county event.
OFFICES = "教育厅|教育局|教体局|教研室|教科所|教研所|教师进修学校|进修学校"
ROLE_WORDS = {
    "主讲人": "主讲", "主讲": "主讲", "授课": "主讲", "讲课": "主讲", "讲了": "主讲",
    "参加": "参加", "参与": "参加", "参培": "参加", "参训": "参加", "听讲": "参加",
    "组织者": "组织", "组织": "组织", "策划": "组织",
    "主持人": "主持", "主持": "主持", "负责人": "主持",
}  # fmt: skip
_RESULTS = ("不合格", "合格", "良好", "优秀")

# Measure words, by what they measure. 课时 is a class period, counted as an hour.
HOURS, DAYS, COUNT, WORDS, BARE, VAGUE = 4, 3, 2, 1, 0, -1
UNIT_KINDS = {
    "小时": HOURS, "钟头": HOURS, "学时": HOURS, "课时": HOURS,
    "天": DAYS, "半天": DAYS,
    "千字": WORDS, "万字": WORDS, "字": WORDS,
    **{u: COUNT for u in ("学期", "节", "次", "篇", "份", "个", "项", "门", "本",
                          "场", "堂", "期", "回", "遍", "轮", "科", "部", "件", "套")},
}  # fmt: skip
DURATION_UNITS = frozenset(u for u, k in UNIT_KINDS.items() if k in (HOURS, DAYS))
WORD_UNITS = frozenset(u for u, k in UNIT_KINDS.items() if k == WORDS)
HALF_AFTER = ("天", "小时", "钟头")  # 一天半, 两小时半

# Verbs whose lesson object was watched or critiqued, not taught, and the names
# that activity goes by in a standard (the first the standard knows is used).
_WATCHING = ("听课", "观课", "听评课")
_CRITIQUING = ("评课", "议课", "点评")
# What a watched lesson may be besides its name: 听了两节数学课, 王老师的课.
SUBJECTS = ("语文|数学|英语|科学|物理|化学|生物|历史|地理|政治|道法|道德与法治|品德"
            "|音乐|美术|体育|信息|信息技术|综合实践|劳动|心理|书法|思政")  # fmt: skip
LESSON_VERBS = {
    "旁听": _WATCHING, "聆听": _WATCHING, "观摩": _WATCHING, "观看": _WATCHING,
    "听": _WATCHING, "观": _WATCHING, "看": _WATCHING,
    "点评": _CRITIQUING, "评": _CRITIQUING, "议": _CRITIQUING,
}  # fmt: skip

# --- patterns -------------------------------------------------------------------

NUM = NUMBER_PATTERN
# A number as written, readable or not: digits and numerals with whatever glues
# them (1,000 3-5 3~5 三到五 2.5 5. 1/2 1e3 十几 三分之一 三点五 2^3), so the
# scan never reads a piece of one (the 5 of -5, the 000 of 1,000, the 一 of
# 三分之一). numbers.parse_amount decides whether the whole is a number.
# One way only to match each character (千 after a digit and before 字 is the
# unit 千字): with two, a run of 千 backtracks in 2ⁿ ways.
_ATOM = r"(?:[\d零〇一二两俩三四五六七八九十百亿几]|(?<!\d)千|(?<=\d)千(?!字)|万(?!字))"
_GLUE_CHARS = r"\-~.,/⁄^×*÷+"
# Again one way only: a bare - or ~ is a sign ([…]+), a range mark (到, 至, —, or
# - and ~ between spaces) is the other alternative.
_GLUE = rf"(?:\s+[-~到至—]\s*|[-~]\s+|[到至—]\s*|[{_GLUE_CHARS}]+|分之|点)"
# A sign left dangling (5.节, 五+节) still makes the number no plain one.
RUN = (
    rf"(?:{_ATOM}+(?:{_GLUE}{_ATOM}+|[{_GLUE_CHARS}]*[a-z]+{_ATOM}*)*"
    rf"(?:[{_GLUE_CHARS}]+(?!{_ATOM}))?(?:个半|半)?|半)"
)
# What makes a number no exact count when said before it: a sign (+ alone
# leaves it as it is), a bound or an approximation (不到5节, 约3次, 数十节).
PREFIX = (
    r"(?:[-+~^<>=≈±≤≥÷⁄][-+~^<>=≈±≤≥÷⁄.]*|\.(?=\d)|负|不到|不足|不满|未满|少于|低于|小于|将近|接近"
    r"|差不多|大约|大概|(?<![预合])约|(?<![最附亲])近|至多|最多|顶多|数(?=[十百千万]))"
)
# ... and after its measure word: 5节左右, 10小时以内.
SUFFIX = r"(?:左右|以内|之内|以下|不到|不足|上下(?!午))"
_INT = r"\d+|[零〇一二两俩三四五六七八九十百千]+"
_MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
_DAY = r"3[01]|[12]\d|0?[1-9]|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
_UNIT_ALT = "|".join(sorted(UNIT_KINDS, key=len, reverse=True))
LEVEL_ALT = "|".join(sorted(LEVEL_WORDS, key=len, reverse=True))
_ROLE_ALT = "|".join(sorted(ROLE_WORDS, key=len, reverse=True))
_PLACE = rf"(?:{LEVEL_ALT}|[国省市县区镇](?:{OFFICES})?)"
# 县里组织的, 由县教研室组织: the place organised it, not the teacher.
_ORGANISED = r"\s*(?:统一)?(?:组织|举办|主办|承办|牵头)"
_CJK_WORD = r"(?:(?![一二三四五六七八九十两特优获奖发上])[\u4e00-\u9fff])"

_NUMERALS = "零〇一二两俩三四五六七八九十百千"
_DIGITS = "0123456789"
_LEVEL_STARTS = "".join({w[0] for w in LEVEL_WORDS})
_RUN_STARTS = "万亿几"
_PREFIX_STARTS = "-+~^<>=≈±≤≥÷⁄.负不未少低小将接差大约近至最顶数"
_LETTERS = string.ascii_lowercase
# A mark written where a number should be. (A question mark ends a clause.)
_STAND_INS = "∞"
_GRADES = r"(?:特等|一等|二等|三等)奖?|优秀奖"
# 不是县级, 没得一等奖, 不是我主讲: a fact said not to hold is no fact.
_NEGATED = (
    rf"(?:不是|并非|并不是|不算|不属于|非|没有|没|未)\s*"
    rf"(?:获得?|得到?|拿到?|评上?|评为|被评为|由我|我|在)?\s*"
    rf"(?:{_PLACE}{_ORGANISED}|{LEVEL_ALT}|[国省市县区镇校]级?|{_GRADES}"
    rf"|{'|'.join(_RESULTS)}|{_ROLE_ALT})"
)
AMOUNT_UNITS = "|".join(
    sorted([*UNIT_KINDS, "分钟", "星期", "礼拜", "周(?![一二三四五六日天])", "月",
            "年级", "年", "岁", "人", "名", "位", "班", "页", "元", "块", "号", "楼",
            "分", "点", "度", "米", "公里", "届", "级"], key=len, reverse=True)
)  # fmt: skip

# Every qualifier in one pass: (kind, characters it can start with, pattern).
# At one position the first alternative wins.
SCAN_TABLE = (
    ("topic", "《", r"《[^》]{1,60}》"),
    ("ymd", _DIGITS, r"\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}[日号]?"),
    ("md", "去今前" + _DIGITS + _NUMERALS,  # 9月3小时 is September's 3 hours
     rf"(?:去年|今年|前年)?(?:{_MONTH})月(?:{_DAY})"
     rf"(?:[日号]|(?!\d|{AMOUNT_UNITS}))"),
    ("slash", _DIGITS,  # 1/2节 is half a lesson, not January 2nd
     rf"(?<![\d/.])(?:1[0-2]|0?[1-9])/(?:3[01]|[12]\d|0?[1-9])"
     rf"(?![\d/]|\s*(?:分钟|{_UNIT_ALT}))"),
    ("month", "去今前" + _DIGITS + _NUMERALS,
     rf"(?:去年|今年|前年)?(?:{_MONTH})月份?"),
    ("relday", "大前昨今明后", r"大前天|前天|昨天|昨日|今天|今日|明天|明日|大后天|后天"),
    ("week", "上这本下周星礼",
     r"(?<!每)(?:上上|上|这|本|下)?(?:周|星期|礼拜)[一二三四五六日天]"),
    ("ahead", "下明", r"下周|下星期|下礼拜|下个月|下月|明年|下学期|下次"),
    ("lastmonth", "上", r"上个月|上月"),
    ("lastweek", "上", r"上周|上星期|上礼拜"),
    ("year", "去前", r"去年|前年"),
    ("unpublished", "未没", r"未发表|没发表|没有发表|未刊发|没有刊发|未见刊|没见刊"),
    ("published", "发刊登见", r"发表|刊发|刊登|见刊|登载"),
    ("negated", "不并非没未", _NEGATED),
    ("above", "国省市县区镇校", r"(?:国家|[国省市县区镇校])级?(?:及|或)?以上"),
    ("organiser", _LEVEL_STARTS + "国省市县区镇由",
     rf"由\s*{_PLACE}{_ORGANISED}|{_PLACE}{_ORGANISED}(?=的)"),
    ("office", "国省市县区镇", rf"[国省市县区镇](?:{OFFICES})"),
    ("level", _LEVEL_STARTS, LEVEL_ALT),
    ("levelmark", "国省市县区镇校", r"[国省市县区镇校]级?(?=里|[特一二三]等|优秀|发表|获)"),
    ("levelchar", "国省市县区镇校", rf"(?<![^\s在去到])[国省市县区镇校](?!{_CJK_WORD})"),
    ("grade", "特一二三优", _GRADES),
    ("result", "".join({r[0] for r in _RESULTS}), "|".join(_RESULTS)),
    ("letter", "abcd", r"(?<![a-z])[abcd]\s*级"),  # 技能检测 B级
    ("attributive", "参组主", r"(?:参加|参与|参训|组织|主持)的(?=[\u4e00-\u9fff])"),
    ("role", "".join({w[0] for w in ROLE_WORDS}), _ROLE_ALT),
    ("perrate", "每", rf"每个?(?:周|天|日|月|学期|次|场|节|晚|个?晚上|期|回|讲|人|篇)?"
                     rf"\s*(?:{PREFIX}\s*)?{RUN}\s*(?:多|余|来)?\s*个?\s*(?:分钟|{_UNIT_ALT})"),
    ("total", "共一总合累", rf"(?:共计|一共|总共|合计|累计|总计|共)(?:是|有|计)?\s*"
                           rf"(?:{NUM})\s*(?:多|余)?\s*个?\s*(?:分钟|{_UNIT_ALT})半?"
                           rf"(?!\s*{SUFFIX})"),
    ("ordinal", "第", rf"第\s*(?:{NUM})"),
    ("halfdays", _DIGITS + _NUMERALS + "半", rf"(?:(?:{_INT})\s*个?\s*)?半天"),
    ("holiday", "三五六七八", r"三八节|五一节|六一节|七一节|八一节"),  # a day, not a count
    # numerals ending a piece are its count (听课 十二); inside one, a word (一起)
    ("spelled", _NUMERALS + _RUN_STARTS,
     rf"(?=[{_NUMERALS}{_RUN_STARTS}]){RUN}(?=\s*$)"),
    # a number and its measure word, or a number alone (a longer one is a year,
    # a code or a phone); signs and approximations are read to be refused
    ("amount", _DIGITS + _NUMERALS + _RUN_STARTS + _PREFIX_STARTS,
     rf"(?:(?=[{re.escape(_PREFIX_STARTS)}]){PREFIX}\s*)?{RUN}"
     rf"(?:\s*(?:多|余|来)?\s*个?\s*(?:{AMOUNT_UNITS})半?(?:\s*{SUFFIX})?)?"),
    ("times", "x×*", rf"(?<![\da-z{_GLUE_CHARS}])[x×*]\s*\d+(?:\.\d+)?"
                     rf"(?![\da-z{_GLUE_CHARS}])"),
    # nan节, iii节 (Ⅲ), ∞节: letters or a mark where a number should be
    ("letters", _LETTERS + _STAND_INS,
     rf"(?<![a-z\d])[a-z{_STAND_INS}]+\s*(?:分钟|{_UNIT_ALT})"),
)  # fmt: skip
