use super::credit::CREDIT_ALPHABET;
use super::resident::EARLIEST_BIRTH;
use super::*;
use crate::Bilingual;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::date;

// --- Resident ID ----------------------------------------------------------------------------

#[test]
fn valid_resident_ids_parse() {
    let id = ResidentId::parse("11010519491231002X").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.region_code(), "110105");
    assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
    assert_eq!(id.sex(), Sex::Female);
    assert_eq!(id.masked(), "1101**********002X");

    let id = ResidentId::parse("110105195001010039").unwrap();
    assert_eq!(id.birth_date(), date!(1950 - 01 - 01));
    assert_eq!(id.sex(), Sex::Male);
    assert_eq!(id.masked(), "1101**********0039");
    assert_eq!(Sex::Male.label_zh(), "男");
}

#[test]
fn lowercase_x_is_normalised() {
    let id = ResidentId::parse("11010519491231002x").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id, ResidentId::parse("11010519491231002X").unwrap());
}

#[test]
fn resident_id_debug_is_masked() {
    let id = ResidentId::parse("11010519491231002X").unwrap();
    let debug = format!("{id:?}");
    assert_eq!(debug, "ResidentId(\"1101**********002X\")");
    assert!(!debug.contains("19491231"));
}

#[test]
fn resident_id_serde_is_the_full_string_and_validates() {
    let id = ResidentId::parse("11010519491231002X").unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, "\"11010519491231002X\"");
    assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
    assert_eq!(
        ResidentId::try_from("110105195001010039".to_owned()).unwrap(),
        "110105195001010039".parse().unwrap()
    );
}

#[test]
fn born_by_compares_with_the_given_day() {
    let id = ResidentId::parse("110105195001010039").unwrap();
    assert!(id.is_born_by(date!(1950 - 01 - 01)));
    assert!(id.is_born_by(date!(2026 - 05 - 01)));
    assert!(!id.is_born_by(date!(1949 - 12 - 31)));
}

#[test]
fn resident_id_check_char_helper() {
    assert_eq!(ResidentId::check_char("11010519491231002"), Some('X'));
    assert_eq!(ResidentId::check_char("11010519500101003"), Some('9'));
    assert_eq!(ResidentId::check_char("1101051950010100"), None);
    assert_eq!(ResidentId::check_char("1101051950010100a"), None);
    assert_eq!(ResidentId::check_char("１１010519500101003"), None);
}

fn id_err(s: &str) -> ResidentIdError {
    ResidentId::parse(s).unwrap_err()
}

#[test]
fn resident_id_length_error() {
    let err = id_err("110105195001010");
    assert_eq!(err, ResidentIdError::Length { found: 15 });
    assert_eq!(err.code(), "resident_id.length");
    assert_eq!(
        err.to_string(),
        "resident ID number must be 18 characters, got 15"
    );
    assert_eq!(err.message_zh(), "身份证号码应为18位，实际为 15 位");
    assert_eq!(
        id_err(" 110105195001010039"),
        ResidentIdError::Length { found: 19 }
    );
}

#[test]
fn resident_id_non_digit_error() {
    let err = id_err("1101051950O1010039");
    assert_eq!(
        err,
        ResidentIdError::NonDigit {
            position: 11,
            found: 'O'
        }
    );
    assert_eq!(err.code(), "resident_id.non_digit");
    assert!(err.message_zh().contains("第 11 位是“O”"));
    // X is only allowed last.
    assert!(matches!(
        id_err("X10105195001010039"),
        ResidentIdError::NonDigit { position: 1, .. }
    ));
}

#[test]
fn resident_id_check_symbol_error() {
    let err = id_err("11010519491231002Y");
    assert_eq!(err, ResidentIdError::CheckSymbol { found: 'Y' });
    assert_eq!(err.code(), "resident_id.check_symbol");
    assert!(err.message_zh().contains("“Y”"));
}

#[test]
fn resident_id_unknown_province_error() {
    let err = id_err("990105195001010039");
    assert_eq!(err, ResidentIdError::UnknownProvince { province: 99 });
    assert_eq!(err.code(), "resident_id.unknown_province");
    assert!(err.to_string().contains("99"));
    assert!(err.message_zh().contains("“99”"));
}

#[test]
fn resident_id_invalid_birth_date_errors() {
    for bad in [
        "110105195002300039", // 30 February
        "110105195013010039", // month 13
        "110105195000010039", // month 0
        "110105195001000039", // day 0
        "110105190002290039", // 1900 is not a leap year
    ] {
        let err = id_err(bad);
        assert_eq!(err, ResidentIdError::InvalidBirthDate, "{bad}");
        assert_eq!(err.code(), "resident_id.invalid_birth_date");
    }
    assert!(!ResidentIdError::InvalidBirthDate.message_zh().is_empty());
    // 2000 is a leap year: 29 February passes the date check (then fails the check char).
    assert!(matches!(
        id_err("110105200002290030"),
        ResidentIdError::CheckCharacter { .. }
    ));
    let err = id_err("110105189912310039");
    assert_eq!(err, ResidentIdError::BirthDateTooEarly);
    assert_eq!(err.code(), "resident_id.birth_date_too_early");
    assert!(err.message_zh().contains("1900"));
}

#[test]
fn resident_id_check_character_error_names_both() {
    let err = id_err("110105195001010033");
    assert_eq!(
        err,
        ResidentIdError::CheckCharacter {
            expected: '9',
            found: '3'
        }
    );
    assert_eq!(err.code(), "resident_id.check_character");
    assert_eq!(
        err.to_string(),
        "wrong check character in resident ID number: expected 9, got 3"
    );
    assert_eq!(err.message_zh(), "身份证号码校验位错误：应为 9，实际为 3");
    assert_eq!(
        id_err("110105194912310029"),
        ResidentIdError::CheckCharacter {
            expected: 'X',
            found: '9'
        }
    );
}

// --- Credit code ----------------------------------------------------------------------------

#[test]
fn valid_credit_codes_parse() {
    for s in [
        "91350100M000100Y43",
        "91310230MA1K314J7C",
        "91110000101623741K",
    ] {
        let code = CreditCode::parse(s).unwrap();
        assert_eq!(code.as_str(), s);
        assert!(!code.check_overridden());
        assert_eq!(code.to_string(), s);
    }
    let code = CreditCode::parse("91350100M000100Y43").unwrap();
    assert_eq!(code.region_code(), "350100");
    assert_eq!(code.masked(), "9135**********0Y43");
}

#[test]
fn lowercase_credit_code_is_normalised() {
    let code = CreditCode::parse("91310230ma1k314j7c").unwrap();
    assert_eq!(code.as_str(), "91310230MA1K314J7C");
}

#[test]
fn check_value_31_becomes_zero() {
    // 9·1 + 1·3 + 4·9 + 1·27 + 0·19 + 4·26 + 0·16 + 2·17 + M(21)·20 + A(10)·29
    //   + 0·(25+13+8+24+10+30) + 8·28 = 1147 = 37·31, so the sum mod 31 is 0 and
    // 31 − 0 = 31 must become '0'.
    assert_eq!(CreditCode::check_char("91410402MA0000008"), Some('0'));
    let code = CreditCode::parse("91410402MA00000080").unwrap();
    assert!(!code.check_overridden());
    assert_eq!(
        CreditCode::parse("91410402MA0000008Y").unwrap_err(),
        CreditCodeError::CheckCharacter {
            expected: '0',
            found: 'Y'
        }
    );
    assert_eq!(CreditCode::check_char("00000000000000000"), Some('0'));
}

#[test]
fn credit_check_char_helper() {
    assert_eq!(CreditCode::check_char("91350100M000100Y4"), Some('3'));
    assert_eq!(CreditCode::check_char("91310230ma1k314j7"), Some('C'));
    assert_eq!(CreditCode::check_char("91350100M000100Y"), None);
    assert_eq!(CreditCode::check_char("91350100M000100Y43"), None);
    assert_eq!(CreditCode::check_char("91350100M000100I4"), None);
}

#[test]
fn credit_code_errors() {
    let err = CreditCode::parse("91350100M000100Y4").unwrap_err();
    assert_eq!(err, CreditCodeError::Length { found: 17 });
    assert_eq!(err.code(), "credit_code.length");
    assert_eq!(err.message_zh(), "统一社会信用代码应为18位，实际为 17 位");

    let err = CreditCode::parse("91350100MO00100Y43").unwrap_err();
    assert_eq!(
        err,
        CreditCodeError::InvalidCharacter {
            position: 10,
            found: 'O'
        }
    );
    assert_eq!(err.code(), "credit_code.invalid_character");
    assert!(err.message_zh().contains("第 10 位是“O”"));
    // The position is reported as given, lowercase included.
    assert_eq!(
        CreditCode::parse("9135010om000100Y43").unwrap_err(),
        CreditCodeError::InvalidCharacter {
            position: 8,
            found: 'o'
        }
    );

    let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
    assert_eq!(
        err,
        CreditCodeError::CheckCharacter {
            expected: '3',
            found: '4'
        }
    );
    assert_eq!(err.code(), "credit_code.check_character");
    assert_eq!(
        err.to_string(),
        "wrong check character in unified social credit code: expected 3, got 4"
    );
    assert!(
        err.message_zh()
            .starts_with("统一社会信用代码校验位错误：应为 3，实际为 4")
    );
}

#[test]
fn override_accepts_only_a_wrong_check_character() {
    let code = CreditCode::parse_with_override("91350100M000100Y44").unwrap();
    assert!(code.check_overridden());
    assert_eq!(code.as_str(), "91350100M000100Y44");

    let fine = CreditCode::parse_with_override("91350100M000100Y43").unwrap();
    assert!(!fine.check_overridden());
    assert_eq!(fine, CreditCode::parse("91350100M000100Y43").unwrap());

    assert_eq!(
        CreditCode::parse_with_override("91350100M000100Y4").unwrap_err(),
        CreditCodeError::Length { found: 17 }
    );
    assert!(matches!(
        CreditCode::parse_with_override("91350100M000100YI3").unwrap_err(),
        CreditCodeError::InvalidCharacter { position: 17, .. }
    ));
}

#[test]
fn credit_code_serde() {
    let code = CreditCode::parse("91110000101623741K").unwrap();
    let json = serde_json::to_string(&code).unwrap();
    assert_eq!(json, "\"91110000101623741K\"");
    assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code);
    // Strict by default ...
    assert!(serde_json::from_str::<CreditCode>("\"91110000101623741A\"").is_err());

    // ... and lenient only where a field opts in.
    #[derive(Serialize, Deserialize)]
    struct Record {
        #[serde(with = "credit_code_overridable")]
        code: CreditCode,
    }
    let rec: Record = serde_json::from_str(r#"{"code":"91110000101623741A"}"#).unwrap();
    assert!(rec.code.check_overridden());
    assert_eq!(
        serde_json::to_string(&rec).unwrap(),
        r#"{"code":"91110000101623741A"}"#
    );
    assert!(serde_json::from_str::<Record>(r#"{"code":"9111000010162374"}"#).is_err());
}

// --- Mobile ---------------------------------------------------------------------------------

#[test]
fn mobile_numbers_in_common_shapes() {
    for s in [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "8613812345678",
        "008613812345678",
        "0086-138-1234-5678",
    ] {
        let m = MobileNumber::parse(s).unwrap();
        assert_eq!(m.as_str(), "13812345678", "{s}");
        assert_eq!(m.masked(), "138****5678");
    }
    let m = MobileNumber::parse("19912345678").unwrap();
    assert_eq!(format!("{m:?}"), "MobileNumber(\"199****5678\")");
}

#[test]
fn mobile_serde_validates_and_normalises() {
    let m: MobileNumber = serde_json::from_str("\"+86 138-1234-5678\"").unwrap();
    assert_eq!(serde_json::to_string(&m).unwrap(), "\"13812345678\"");
    assert!(serde_json::from_str::<MobileNumber>("\"12812345678\"").is_err());
    assert_eq!(
        MobileNumber::try_from("13812345678".to_owned()).unwrap(),
        "13812345678".parse().unwrap()
    );
}

#[test]
fn mobile_errors() {
    let err = MobileNumber::parse("138.1234.5678").unwrap_err();
    assert_eq!(
        err,
        MobileNumberError::InvalidCharacter {
            position: 4,
            found: '.'
        }
    );
    assert_eq!(err.code(), "mobile.invalid_character");
    assert!(err.message_zh().contains("第 4 个字符是“.”"));
    assert!(matches!(
        MobileNumber::parse("138+12345678").unwrap_err(),
        MobileNumberError::InvalidCharacter { position: 4, .. }
    ));

    let err = MobileNumber::parse("+85291234567").unwrap_err();
    assert_eq!(err, MobileNumberError::CountryCode);
    assert_eq!(err.code(), "mobile.country_code");
    assert!(err.message_zh().contains("+86"));

    let err = MobileNumber::parse("1381234567").unwrap_err();
    assert_eq!(err, MobileNumberError::Length { found: 10 });
    assert_eq!(err.code(), "mobile.length");
    assert_eq!(err.to_string(), "mobile number must have 11 digits, got 10");
    assert_eq!(err.message_zh(), "手机号码应为11位数字，实际为 10 位");
    assert_eq!(
        MobileNumber::parse("").unwrap_err(),
        MobileNumberError::Length { found: 0 }
    );
    // A landline with its area code is too long; without the leading 0 it is not a mobile.
    let err = MobileNumber::parse("037512345678").unwrap_err();
    assert_eq!(err, MobileNumberError::Length { found: 12 });

    let err = MobileNumber::parse("12812345678").unwrap_err();
    assert_eq!(
        err,
        MobileNumberError::NotMobile {
            prefix: "12".to_owned()
        }
    );
    assert_eq!(err.code(), "mobile.not_mobile");
    assert_eq!(err.message_zh(), "手机号码应以 13 至 19 开头，实际为 12");
    assert!(matches!(
        MobileNumber::parse("03751234567").unwrap_err(),
        MobileNumberError::NotMobile { .. }
    ));
}

// --- Names ----------------------------------------------------------------------------------

#[test]
fn names_keep_only_their_first_character() {
    assert_eq!(mask_name("张三"), "张*");
    assert_eq!(mask_name("欧阳娜娜"), "欧***");
    assert_eq!(mask_name("张"), "张*");
    assert_eq!(mask_name(""), "");
    assert_eq!(mask_name("阿依古丽·买买提"), "阿*******");
}

// --- Properties -------------------------------------------------------------------------

const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];
const ID_SYMBOLS: &str = "0123456789X";

/// A valid ID's first 17 digits: real province, a date in 1900–2099, any sequence.
fn first17() -> impl Strategy<Value = String> {
    let first = EARLIEST_BIRTH.to_julian_day();
    let last = date!(2099 - 12 - 31).to_julian_day();
    (
        prop::sample::select(&PROVINCES[..]),
        0u32..10_000,
        first..=last,
        0u32..1_000,
    )
        .prop_map(|(p, rest, day, seq)| {
            let d = Date::from_julian_day(day).unwrap();
            format!(
                "{p:02}{rest:04}{:04}{:02}{:02}{seq:03}",
                d.year(),
                u8::from(d.month()),
                d.day()
            )
        })
}

fn valid_id() -> impl Strategy<Value = String> {
    first17().prop_map(|f| {
        let check = ResidentId::check_char(&f).unwrap();
        format!("{f}{check}")
    })
}

fn credit_first17() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&CREDIT_ALPHABET[..]), 17)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn valid_credit() -> impl Strategy<Value = String> {
    credit_first17().prop_map(|f| {
        let check = CreditCode::check_char(&f).unwrap();
        format!("{f}{check}")
    })
}

/// `s` with the character at `index` replaced by the `pick`-th other symbol of `alphabet`.
fn flip(s: &str, index: usize, alphabet: &str, pick: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let others: Vec<char> = alphabet.chars().filter(|&c| c != chars[index]).collect();
    chars[index] = others[pick % others.len()];
    chars.into_iter().collect()
}

proptest! {
    #[test]
    fn generated_resident_ids_are_accepted(s in valid_id()) {
        let id = ResidentId::parse(&s).unwrap();
        prop_assert_eq!(id.as_str(), s.as_str());
        prop_assert_eq!(id.region_code(), &s[..6]);
        let birth = id.birth_date();
        prop_assert_eq!(
            format!("{:04}{:02}{:02}", birth.year(), u8::from(birth.month()), birth.day()),
            &s[6..14]
        );
        let odd = (s.as_bytes()[16] - b'0') % 2 == 1;
        prop_assert_eq!(id.sex(), if odd { Sex::Male } else { Sex::Female });
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id.clone());
        if s.ends_with('X') {
            let lower = s.replace('X', "x");
            prop_assert_eq!(ResidentId::parse(&lower).unwrap(), id);
        }
    }

    #[test]
    fn any_single_changed_character_breaks_a_resident_id(
        s in valid_id(),
        index in 0usize..18,
        pick in 0usize..10,
    ) {
        let alphabet = if index == 17 { ID_SYMBOLS } else { "0123456789" };
        let flipped = flip(&s, index, alphabet, pick);
        prop_assert!(ResidentId::parse(&flipped).is_err(), "{} accepted", flipped);
    }

    #[test]
    fn resident_id_masking_hides_the_middle(s in valid_id()) {
        let id = ResidentId::parse(&s).unwrap();
        let masked = id.masked();
        prop_assert_eq!(masked.len(), 18);
        prop_assert_eq!(&masked[..4], &s[..4]);
        prop_assert_eq!(&masked[4..14], MIDDLE_MASK);
        prop_assert_eq!(&masked[14..], &s[14..]);
        let debug = format!("{id:?}");
        prop_assert!(!debug.contains(&s[4..14]));
        prop_assert!(debug.contains(&masked));
    }

    #[test]
    fn generated_credit_codes_are_accepted(s in valid_credit()) {
        let code = CreditCode::parse(&s).unwrap();
        prop_assert_eq!(code.as_str(), s.as_str());
        prop_assert!(!code.check_overridden());
        prop_assert_eq!(CreditCode::parse(&s.to_lowercase()).unwrap(), code.clone());
        let json = serde_json::to_string(&code).unwrap();
        prop_assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code.clone());
        let masked = code.masked();
        prop_assert_eq!(&masked[4..14], MIDDLE_MASK);
        prop_assert_eq!(&masked[..4], &s[..4]);
        prop_assert_eq!(&masked[14..], &s[14..]);
    }

    #[test]
    fn any_single_changed_symbol_breaks_a_credit_code_but_can_be_overridden(
        s in valid_credit(),
        index in 0usize..18,
        pick in 0usize..30,
    ) {
        let alphabet = std::str::from_utf8(CREDIT_ALPHABET).unwrap();
        let flipped = flip(&s, index, alphabet, pick);
        let is_check_error = matches!(
            CreditCode::parse(&flipped),
            Err(CreditCodeError::CheckCharacter { .. })
        );
        prop_assert!(is_check_error);
        let overridden = CreditCode::parse_with_override(&flipped).unwrap();
        prop_assert!(overridden.check_overridden());
    }

    #[test]
    fn mobile_numbers_survive_formatting(
        national in "1[3-9][0-9]{9}",
        prefix in prop::sample::select(vec!["", "+86", "86", "0086", "+86 ", "0086-"]),
        dashes in any::<bool>(),
    ) {
        let body = if dashes {
            format!("{}-{}-{}", &national[..3], &national[3..7], &national[7..])
        } else {
            national.clone()
        };
        let m = MobileNumber::parse(&format!("{prefix}{body}")).unwrap();
        prop_assert_eq!(m.as_str(), national.as_str());
        let masked = m.masked();
        prop_assert_eq!(&masked[3..7], "****");
        prop_assert_eq!(&masked[..3], &national[..3]);
        prop_assert_eq!(&masked[7..], &national[7..]);
        // Debug shows the masked form only (the middle digits may recur in the tail, so
        // compare with the masked form rather than search for the middle).
        let debug = format!("{m:?}");
        prop_assert!(debug.contains(&masked), "{}", debug);
        prop_assert!(!debug.contains(&national), "{}", debug);
    }

    #[test]
    fn names_mask_all_but_the_first_character(name in "\\PC{1,12}") {
        let masked = mask_name(&name);
        let mut chars = masked.chars();
        prop_assert_eq!(chars.next(), name.chars().next());
        let rest: Vec<char> = chars.collect();
        prop_assert_eq!(rest.len(), (name.chars().count() - 1).max(1));
        prop_assert!(rest.iter().all(|&c| c == '*'));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".*") {
        let _ = ResidentId::parse(&s);
        let _ = ResidentId::check_char(&s);
        let _ = CreditCode::parse(&s);
        let _ = CreditCode::parse_with_override(&s);
        let _ = CreditCode::check_char(&s);
        let _ = MobileNumber::parse(&s);
        let _ = mask_name(&s);
    }

    #[test]
    fn near_miss_text_never_panics(
        id in "[0-9xX]{16,19}",
        credit in "[0-9A-Za-z]{16,19}",
        mobile in "[+0-9 -]{8,18}",
    ) {
        let _ = ResidentId::parse(&id);
        let _ = CreditCode::parse_with_override(&credit);
        let _ = MobileNumber::parse(&mobile);
    }
}
