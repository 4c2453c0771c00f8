//! Masking of personal data in JSON answers: ID numbers, phone numbers, addresses and names of
//! persons never leave a node in full through the operator API's lists and case views.

use bangban_domain::ident::mask_name;
use serde_json::Value;

/// Fields whose string values are masked wherever they appear.
fn mask_field(key: &str, value: &str) -> Option<String> {
    match key {
        "id_number" | "credit_code" => Some(mask_middle(value, 4, 4)),
        "phone" | "contact_phone" => Some(mask_middle(value, 3, 4)),
        "address" => Some(mask_address(value)),
        "recipient" | "received_by" | "contact_name" | "legal_representative" => {
            Some(mask_name(value))
        }
        _ => None,
    }
}

fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Keeps the first six characters (district and street level), hides the rest.
fn mask_address(value: &str) -> String {
    let keep: String = value.chars().take(6).collect();
    format!("{keep}****")
}

/// Masks personal fields in place, at any depth. A person applicant's `name` is masked too.
pub fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_person = map.get("type").and_then(Value::as_str) == Some("person");
            for (key, v) in map.iter_mut() {
                if let Value::String(s) = v {
                    if let Some(masked) = mask_field(key, s) {
                        *s = masked;
                    } else if is_person && key == "name" {
                        *s = mask_name(s);
                    }
                } else {
                    mask_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn personal_fields_are_masked_at_any_depth() {
        let mut v = serde_json::json!({
            "payload": {"applicant": {"type": "person", "name": "张三丰",
                "id_number": "11010519491231002X", "phone": "13812345678"},
                "delivery": {"method": "courier", "recipient": "李四",
                    "address": "河南省平顶山市新华区曙光街1号", "phone": "13900001111"}},
            "item": {"name": "食品经营许可证核发"}
        });
        mask_json(&mut v);
        let text = v.to_string();
        for secret in [
            "11010519491231002X",
            "13812345678",
            "张三丰",
            "曙光街1号",
            "13900001111",
            "李四",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(v["payload"]["applicant"]["id_number"], "1101**********002X");
        assert_eq!(v["payload"]["applicant"]["phone"], "138****5678");
        assert_eq!(
            v["item"]["name"], "食品经营许可证核发",
            "item names are not personal"
        );
    }
}
