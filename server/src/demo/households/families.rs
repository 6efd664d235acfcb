//! Who lives together: household shapes with their shares, ages by band, spouses, children,
//! parents and grandchildren of plausible ages.

use jiuzhu_proto::household::{
    DailyLiving, DisabilityType, Health, Income, Relation, StudentStatus, WorkStatus,
};

use super::rng::Rng;

/// Household compositions of an urban district. Weights are per mille of households; sizes come
/// out 1: 26 %, 2: 28.5 %, 3: 22 %, 4: 13.5 %, 5: 7 %, 6: 3 % (mean ≈ 2.55, near the 2020
/// census's 2.5 for urban Jiangsu), with many elderly living alone or as couples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    SoloElder,
    SoloAdult,
    ElderCouple,
    Couple,
    SingleParent {
        kids: u8,
    },
    ElderWithChild,
    Couple2 {
        kids: u8,
        parents: u8,
    },
    /// Grandparents raising a grandchild while the parents work elsewhere (隔代抚养).
    SkippedGeneration,
    /// An older couple with a grown child, perhaps the child's spouse, and grandchildren.
    ThreeGenerations {
        in_law: bool,
        grandkids: u8,
    },
}

pub(super) const SHAPES: &[(Shape, u32)] = &[
    (Shape::SoloElder, 105),
    (Shape::SoloAdult, 155),
    (Shape::ElderCouple, 130),
    (Shape::Couple, 85),
    (Shape::SingleParent { kids: 1 }, 40),
    (Shape::ElderWithChild, 30),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 0,
        },
        175,
    ),
    (
        Shape::Couple2 {
            kids: 0,
            parents: 1,
        },
        20,
    ),
    (Shape::SkippedGeneration, 15),
    (Shape::SingleParent { kids: 2 }, 10),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 0,
        },
        70,
    ),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 1,
        },
        40,
    ),
    (
        Shape::ThreeGenerations {
            in_law: false,
            grandkids: 1,
        },
        25,
    ),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 2,
        },
        30,
    ),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 1,
        },
        20,
    ),
    (
        Shape::ThreeGenerations {
            in_law: true,
            grandkids: 1,
        },
        20,
    ),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 2,
        },
        15,
    ),
    (
        Shape::ThreeGenerations {
            in_law: true,
            grandkids: 2,
        },
        15,
    ),
];

/// 60 and over, living with others: the young old predominate.
const ELDER_AGES: &[(i32, i32, u32)] = &[
    (60, 64, 25),
    (65, 69, 25),
    (70, 74, 19),
    (75, 79, 12),
    (80, 84, 10),
    (85, 89, 6),
    (90, 99, 3),
];
/// 60 and over, living alone: older, mostly widowed.
const SOLO_ELDER_AGES: &[(i32, i32, u32)] = &[
    (60, 64, 12),
    (65, 69, 16),
    (70, 74, 20),
    (75, 79, 18),
    (80, 84, 17),
    (85, 89, 11),
    (90, 99, 6),
];
const SOLO_ADULT_AGES: &[(i32, i32, u32)] = &[
    (20, 24, 15),
    (25, 29, 22),
    (30, 34, 18),
    (35, 39, 12),
    (40, 49, 15),
    (50, 59, 18),
];

#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) relation: Relation,
    pub(super) age: i32,
    pub(super) male: bool,
    pub(super) health: Health,
    pub(super) disability: Option<(DisabilityType, u8)>,
    pub(super) daily_living: DailyLiving,
    pub(super) work: WorkStatus,
    pub(super) student: StudentStatus,
    pub(super) income: Income,
}

impl Person {
    fn new(relation: Relation, age: i32, male: bool) -> Self {
        Self {
            relation,
            age: age.clamp(0, 104),
            male,
            health: Health::Healthy,
            disability: None,
            daily_living: DailyLiving::default(),
            work: WorkStatus::NotWorkingAge,
            student: StudentStatus::NotStudent,
            income: Income::default(),
        }
    }

    pub(super) fn severely_disabled(&self) -> bool {
        self.disability.is_some_and(|(_, level)| level <= 2)
    }
}

/// Husbands are usually a little older than their wives.
fn spouse_of(rng: &mut Rng, head: &Person) -> Person {
    let gap = *rng.weighted(&[
        (0, 20),
        (1, 18),
        (2, 18),
        (3, 14),
        (4, 10),
        (6, 8),
        (-1, 7),
        (-2, 5),
    ]);
    let age = if head.male {
        head.age - gap
    } else {
        head.age + gap
    };
    Person::new(Relation::Spouse, age.max(20), !head.male)
}

/// A child of someone `parent` years old: born when the parent was 22 to 38.
fn child_age(rng: &mut Rng, parent: i32) -> i32 {
    let max_gap = parent.min(38);
    let min_gap = 22.min(max_gap);
    parent - rng.range(i64::from(min_gap), i64::from(max_gap)) as i32
}

fn younger_sibling(rng: &mut Rng, older: i32) -> i32 {
    (older - rng.range(1, 8) as i32).max(0)
}

fn parent_age(rng: &mut Rng, child: i32) -> i32 {
    (child + rng.range(22, 34) as i32).min(101)
}

pub(super) fn compose(rng: &mut Rng, shape: Shape) -> Vec<Person> {
    let mut people = Vec::with_capacity(6);
    match shape {
        Shape::SoloElder => {
            let age = rng.age(SOLO_ELDER_AGES);
            people.push(Person::new(Relation::Head, age, rng.chance(0.35)));
        }
        Shape::SoloAdult => {
            let age = rng.age(SOLO_ADULT_AGES);
            people.push(Person::new(Relation::Head, age, rng.chance(0.56)));
        }
        Shape::ElderCouple => {
            let head = Person::new(Relation::Head, rng.age(ELDER_AGES), rng.chance(0.8));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
        }
        Shape::Couple => {
            let age = if rng.chance(0.55) {
                rng.range(23, 34)
            } else {
                rng.range(45, 59)
            };
            let head = Person::new(Relation::Head, age as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
        }
        Shape::SingleParent { kids } => {
            let head = Person::new(Relation::Head, rng.range(27, 55) as i32, rng.chance(0.25));
            let mut kid = child_age(rng, head.age);
            people.push(head);
            for _ in 0..kids {
                people.push(Person::new(Relation::Child, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
        }
        Shape::ElderWithChild => {
            let head = Person::new(Relation::Head, rng.range(62, 95) as i32, rng.chance(0.4));
            let child = child_age(rng, head.age).max(25);
            people.push(head);
            people.push(Person::new(Relation::Child, child, rng.chance(0.55)));
        }
        Shape::Couple2 { kids, parents } => {
            let age = match (kids, parents) {
                (0, _) => rng.range(38, 62),
                (_, 0) => rng.range(26, 56),
                _ => rng.range(30, 56),
            };
            let head = Person::new(Relation::Head, age as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            let mother = if head.male { spouse.age } else { head.age };
            let own_parent_age = parent_age(rng, head.age);
            people.extend([head, spouse]);
            let mut kid = child_age(rng, mother);
            for _ in 0..kids {
                people.push(Person::new(Relation::Child, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
            match parents {
                0 => {}
                1 => people.push(Person::new(
                    Relation::Parent,
                    own_parent_age,
                    rng.chance(0.3),
                )),
                _ => {
                    let wife = own_parent_age - rng.range(0, 4) as i32;
                    people.push(Person::new(Relation::Parent, own_parent_age, true));
                    people.push(Person::new(Relation::Parent, wife, false));
                }
            }
        }
        Shape::SkippedGeneration => {
            let head = Person::new(Relation::Head, rng.range(56, 78) as i32, rng.chance(0.7));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
            people.push(Person::new(
                Relation::Grandchild,
                rng.range(3, 16) as i32,
                rng.chance(0.51),
            ));
        }
        Shape::ThreeGenerations { in_law, grandkids } => {
            let head = Person::new(Relation::Head, rng.range(52, 78) as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            let child_age = child_age(rng, head.age.min(spouse.age)).max(24);
            let child_male = rng.chance(0.6);
            people.extend([head, spouse]);
            people.push(Person::new(Relation::Child, child_age, child_male));
            let mut mother = child_age;
            if in_law {
                let partner_age = (child_age + rng.range(-3, 3) as i32).max(22);
                people.push(Person::new(Relation::ChildInLaw, partner_age, !child_male));
                if child_male {
                    mother = partner_age;
                }
            }
            let mut kid = (mother - rng.range(22, 34) as i32).max(0);
            for _ in 0..grandkids {
                people.push(Person::new(Relation::Grandchild, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
        }
    }
    people
}
