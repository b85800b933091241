"""The standard's item names, worked out once per parser: the longer names of an
item that contain a shorter one, names that are a level word plus another
item's name, endings shared by several items (培训 could be any of three), and
an index for finding a name typed with one character changed (公开客), with
the sound-alike characters that index is built from.
"""

from __future__ import annotations

from scoring.vocabulary import LEVEL_WORDS

# Characters input methods put for a name's character (same sound). Names of
# two or three characters are read through this table only: any other change
# is too likely another word (基本上 is not 基本功).
_SOUND_ALIKE = {
    "课": "客刻克科棵颗", "文": "问闻纹", "论": "轮伦仑", "题": "体提替",
    "评": "平凭苹瓶", "听": "厅", "议": "意义异", "思": "斯丝司私", "案": "按安暗",
    "例": "利力立丽厉", "教": "叫较", "座": "坐做作", "修": "休秀", "著": "住注助",
    "告": "靠搞", "笔": "比币必", "随": "岁虽", "记": "纪计济", "书": "输树叔舒",
    "证": "正政整", "件": "见建健", "博": "薄搏伯", "叙": "续序絮", "事": "式视试",
    "磨": "摸模末", "赛": "塞", "备": "被背倍贝", "集": "及急即", "对": "队兑",
    "培": "陪赔配", "训": "讯迅询", "材": "才财采", "岗": "港刚钢", "摘": "窄宅",
    "功": "工公攻宫", "基": "机鸡击", "开": "凯", "示": "是式", "范": "饭犯泛",
    "展": "战占", "讨": "套", "究": "就纠", "摩": "魔模", "稿": "搞高", "导": "到倒",
    "感": "赶敢", "报": "抱暴", "质": "治制", "像": "象向项", "录": "路陆",
    "流": "留刘", "收": "手首", "竞": "竟敬静",
}  # fmt: skip
# What may stand right before a two-character slip: a word boundary, not a word.
_SLIP_LEADS = frozenset(" .0123456789了篇份个项本节次的写交做是有")
# Endings too common in everyday talk to read as "one of these items".
_TOO_GENERIC = {"活动", "学习", "研修", "成果"}


def longer_names(names: dict) -> dict[str, list[tuple[str, int]]]:
    """For each name, the longer names of the same item that contain it."""
    longer: dict[str, list[tuple[str, int]]] = {}
    for short, (item, _) in names.items():
        for name, (owner, _) in names.items():
            if owner == item and len(name) > len(short) and short in name:
                longer.setdefault(short, []).append((name, name.index(short)))
    return longer


def level_compounds(names: dict) -> dict[tuple[str, str], tuple[str, dict]]:
    """(level, name) → the item whose own name is that level word + name
    (片区 + 教研活动 → 片区教研活动), when it is another item than the name's."""
    compounds = {}
    for name, (item, implied) in names.items():
        for word, level in LEVEL_WORDS.items():
            rest = name[len(word) :]
            if name.startswith(word) and rest in names and names[rest][0] != item:
                compounds[(level, rest)] = (item, dict(implied))
    return compounds


def shared_endings(names: dict) -> dict[str, tuple[str, ...]]:
    """Endings of two or more characters shared by names of different items.

    培训 ends 校本培训, 集中培训 and 远程培训: a message saying only 培训 could be
    any of them. Full names are left out; they are never ambiguous.
    """
    owners: dict[str, list[str]] = {}
    for name, (item_id, _) in names.items():
        for start in range(2, len(name) - 1):
            ending = name[start:]
            items = owners.setdefault(ending, [])
            if item_id not in items:
                items.append(item_id)
    return {
        e: tuple(i)
        for e, i in owners.items()
        if len(i) > 1 and e not in names and e not in _TOO_GENERIC
    }


def slip_index(names: dict) -> dict[str, list[tuple[str, str, int]]]:
    """First character → (fragment, name, offset of the fragment in the name).

    A name of three or more characters with one character changed still has
    one half intact; a two-character name is found through its sound-alikes.
    """
    index: dict[str, list[tuple[str, str, int]]] = {}

    def add(fragment: str, name: str, offset: int) -> None:
        index.setdefault(fragment[0], []).append((fragment, name, offset))

    for name in names:
        if len(name) == 2:  # no half of it is distinctive: list its sound-alikes
            for i, meant in enumerate(name):
                for typed in _SOUND_ALIKE.get(meant, ""):
                    variant = name[:i] + typed + name[i + 1 :]
                    if variant not in names:
                        add(variant, name, 0)
        elif len(name) >= 3:
            half = len(name) // 2
            add(name[:half], name, 0)
            add(name[half:], name, half)
    return index


def is_slip(clause: str, start: int, window: str, name: str) -> bool:
    """One character changed: any character in a long name; in a short one a
    same-sound character, and in a two-character one only at a word boundary."""
    diffs = [(a, b) for a, b in zip(window, name, strict=True) if a != b]
    if len(diffs) != 1 or not ("\u4e00" <= diffs[0][0] <= "\u9fff"):
        return False
    if len(name) > 3:
        return True
    typed, meant = diffs[0]
    if typed not in _SOUND_ALIKE.get(meant, ""):
        return False
    return len(name) == 3 or start == 0 or clause[start - 1] in _SLIP_LEADS
