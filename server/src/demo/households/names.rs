//! Chinese names: surnames weighted towards 常州's, given names by birth cohort and sex, and the
//! family names children, spouses and grandchildren take.

use jiuzhu_proto::household::Relation;

use super::families::Person;
use super::rng::Rng;

/// Common surnames, weighted towards those of 常州 (恽, 庄, 钱, 顾, 蒋, 储 …).
const SURNAMES: &[(&str, u32)] = &[
    ("陈", 60),
    ("王", 55),
    ("张", 50),
    ("周", 45),
    ("徐", 40),
    ("朱", 38),
    ("吴", 36),
    ("李", 35),
    ("钱", 30),
    ("顾", 28),
    ("蒋", 28),
    ("沈", 26),
    ("刘", 25),
    ("杨", 24),
    ("孙", 24),
    ("陆", 22),
    ("汤", 20),
    ("许", 20),
    ("庄", 18),
    ("恽", 15),
    ("邵", 15),
    ("储", 14),
    ("黄", 14),
    ("唐", 14),
    ("丁", 12),
    ("胡", 12),
    ("薛", 12),
    ("姚", 12),
    ("包", 10),
    ("谢", 10),
    ("蔡", 10),
    ("史", 10),
    ("吕", 9),
    ("高", 9),
    ("赵", 9),
    ("马", 8),
    ("董", 8),
    ("杭", 7),
    ("虞", 6),
    ("瞿", 6),
    ("盛", 6),
    ("秦", 6),
    ("巢", 5),
    ("欧阳", 2),
    ("司马", 1),
];

/// Given names by birth cohort: (before 1960, 1960s–70s, 1980s–90s, 2000 on), male then female.
const GIVEN_NAMES: [(&[&str], &[&str]); 4] = [
    (
        &[
            "建国", "国强", "志明", "福生", "金根", "国平", "建华", "荣生", "德明", "永康", "根宝",
            "炳生", "洪生", "松林", "明", "伟", "军", "忠",
        ],
        &[
            "秀英", "桂英", "玉兰", "凤英", "秀珍", "桂芳", "淑珍", "美华", "素琴", "菊芬", "兰英",
            "金娣", "彩娣", "惠芬", "英", "红", "芳", "珍",
        ],
    ),
    (
        &[
            "建军", "卫东", "国华", "志强", "红兵", "海涛", "建平", "春华", "晓东", "文杰", "立新",
            "建忠", "军", "勇", "斌", "俊", "刚", "峰",
        ],
        &[
            "丽华", "红梅", "美琴", "小英", "丽萍", "晓燕", "雪芬", "亚芳", "春燕", "海燕", "卫红",
            "建芬", "雅琴", "玲", "燕", "敏", "静", "萍",
        ],
    ),
    (
        &[
            "俊杰", "志伟", "文斌", "晓峰", "建峰", "天宇", "俊峰", "浩然", "一鸣", "家豪", "子健",
            "磊", "杰", "浩", "鹏", "涛", "强", "晨",
        ],
        &[
            "晶晶", "婷婷", "佳怡", "丹丹", "晓雯", "雅婷", "梦洁", "佳佳", "思佳", "雨欣", "倩",
            "婷", "丽", "雪", "雯", "露", "欣", "洁",
        ],
    ),
    (
        &[
            "子轩", "浩宇", "宇轩", "梓豪", "一诺", "俊熙", "子墨", "宇航", "皓轩", "沐阳", "思远",
            "奕辰", "博文", "明轩", "睿", "晨", "哲", "航",
        ],
        &[
            "梓涵", "欣怡", "子涵", "诗涵", "梓萱", "可馨", "雨桐", "语嫣", "若汐", "思琪", "佳琪",
            "梦瑶", "紫萱", "安琪", "悦", "妍", "琪", "萱",
        ],
    ),
];

/// Family names: children take their father's, wives and mothers keep their own.
pub(super) fn surnames(rng: &mut Rng, people: &[Person]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = people.iter().map(|_| *rng.weighted(SURNAMES)).collect();
    // The children's father among the head and a spouse (a single mother's children take hers).
    let father = people
        .iter()
        .position(|p| p.male && matches!(p.relation, Relation::Head | Relation::Spouse))
        .unwrap_or(0);
    for (i, p) in people.iter().enumerate() {
        match p.relation {
            Relation::Child => out[i] = out[father],
            // The head's father: the head has his name.
            Relation::Parent if p.male => out[i] = out[0],
            _ => {}
        }
    }
    // The grandchildren's father: a son, or a daughter's husband.
    let grandfather_line = people
        .iter()
        .position(|p| p.male && matches!(p.relation, Relation::Child | Relation::ChildInLaw))
        .or_else(|| people.iter().position(|p| p.relation == Relation::Child))
        .unwrap_or(father);
    for (i, p) in people.iter().enumerate() {
        if p.relation == Relation::Grandchild {
            out[i] = out[grandfather_line];
        }
    }
    out
}

pub(super) fn name(rng: &mut Rng, surname: &str, birth_year: i32, male: bool) -> String {
    let cohort = match birth_year {
        ..=1959 => 0,
        1960..=1979 => 1,
        1980..=1999 => 2,
        _ => 3,
    };
    let (men, women) = GIVEN_NAMES[cohort];
    let pool = if male { men } else { women };
    // Compound surnames take one character, so names stay 2–3 characters.
    let single: Vec<&str> = pool
        .iter()
        .copied()
        .filter(|n| n.chars().count() == 1)
        .collect();
    let double: Vec<&str> = pool
        .iter()
        .copied()
        .filter(|n| n.chars().count() == 2)
        .collect();
    let one_char = surname.chars().count() > 1 || rng.chance(if cohort < 2 { 0.15 } else { 0.08 });
    let given = if one_char {
        rng.pick(&single)
    } else {
        rng.pick(&double)
    };
    format!("{surname}{given}")
}
