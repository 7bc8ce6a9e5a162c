//! The SEPA Latin character set (`a-z A-Z 0-9 / - ? : ( ) . , ' +` and space), with
//! transliteration for free text and rejection for identifiers.

fn is_sepa(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// The replacement for a character outside the set, as banks' EPC conversion tables
/// do: German umlauts keep their sound (`ä` → `ae`), other accents are dropped.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' => "ae",
        'ö' => "oe",
        'ü' => "ue",
        'Ä' => "Ae",
        'Ö' => "Oe",
        'Ü' => "Ue",
        'ß' => "ss",
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ā' | 'Ą' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' | 'ć' | 'č' => "c",
        'Ç' | 'Ć' | 'Č' => "C",
        'ď' | 'đ' => "d",
        'Ď' | 'Đ' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "E",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
        'ł' | 'ľ' | 'ĺ' => "l",
        'Ł' | 'Ľ' | 'Ĺ' => "L",
        'ñ' | 'ń' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' | 'Ō' | 'Ő' => "O",
        'œ' => "oe",
        'Œ' => "OE",
        'ř' | 'ŕ' => "r",
        'Ř' | 'Ŕ' => "R",
        'ś' | 'š' | 'ş' => "s",
        'Ś' | 'Š' | 'Ş' => "S",
        'ť' | 'ţ' => "t",
        'Ť' | 'Ţ' => "T",
        'ù' | 'ú' | 'û' | 'ů' | 'ū' | 'ű' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ů' | 'Ū' | 'Ű' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' | 'Ÿ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        '&' => "+",
        '_' | '–' | '—' => "-",
        '"' | '‘' | '’' | '`' | '´' => "'",
        '\t' | '\u{a0}' => " ",
        _ => return None,
    })
}

/// Free text in the SEPA set, or the first character that has no replacement.
pub(super) fn to_sepa_text(text: &str) -> Result<String, char> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_sepa(c) {
            out.push(c);
        } else {
            out.push_str(transliterate(c).ok_or(c)?);
        }
    }
    Ok(out)
}

/// The first character of an identifier outside the SEPA set.
pub(super) fn identifier_problem(id: &str) -> Option<char> {
    id.chars().find(|c| !is_sepa(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_transliterated_identifiers_are_not() {
        assert_eq!(
            to_sepa_text("Müller & Söhne, Café"),
            Ok("Mueller + Soehne, Cafe".to_owned())
        );
        assert_eq!(to_sepa_text("Invoice №1"), Err('№'));
        assert_eq!(identifier_problem("E2E-ü"), Some('ü'));
        assert_eq!(identifier_problem("E2E-1/2"), None);
    }
}
