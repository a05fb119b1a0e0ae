"""The Unified Social Credit Code (GB 32100-2015) and mainland mobile numbers."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.functional import Promise

from registrations.validators import (
    normalise_mobile,
    normalise_uscc,
    uscc_check_character,
    validate_cn_mobile,
    validate_uscc,
)

# Published codes of real enterprises (business licences shown on their own websites).
REAL_CODES = ["91110000600037341L", "91350100M000100Y43", "9144030071526726XG"]


def code(first17: str) -> str:
    """`first17` completed with its correct check character."""
    return first17 + uscc_check_character(first17)


def refusal(value, validator=validate_uscc) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return caught.value


def english(error: ValidationError) -> str:
    with translation.override("en"):
        (message,) = error.messages
        return message


@pytest.mark.parametrize("value", REAL_CODES)
def test_real_credit_codes_are_accepted(value):
    validate_uscc(value)


@pytest.mark.parametrize(
    "first17",
    [
        "N2350102MA2YC0B7",  # a village-level collective economic organisation (农业)
        "N1330782MA29D2X8",  # a group-level collective (组级)
        "Y1110108MA01P2X3",  # "other" registration authority
        "A1100000MB0123456",  # a military public institution
        "12100000400010000",  # a public institution (事业单位)
        "51110000500021676",  # a social organisation (社会团体)
        "54440305MEA0001X",  # a residents' committee (居委会), civil affairs type 4
        "93330782MA29D2X8Q",  # a farmers' cooperative
    ],
)
def test_codes_of_letter_and_other_authorities_with_a_correct_check_character_are_accepted(
    first17,
):
    first17 = first17.ljust(17, "0")
    validate_uscc(code(first17))


def test_the_check_characters_agree_with_the_published_codes():
    assert [uscc_check_character(c[:17]) for c in REAL_CODES] == [c[17] for c in REAL_CODES]


@pytest.mark.parametrize("value", REAL_CODES)
def test_a_wrong_check_character_is_refused_and_says_so(value):
    wrong = value[:17] + ("0" if value[17] != "0" else "1")
    error = refusal(wrong)
    assert error.code == "uscc_checksum"
    assert english(error) == (
        "The last character of this credit code (its check character) does not match the "
        "others: please check the code for typos."
    )


def test_a_swapped_pair_of_characters_is_caught():
    swapped = "91110000600073341L"  # 37 typed as 73
    assert refusal(swapped).code == "uscc_checksum"


@pytest.mark.parametrize(
    ("value", "count"), [("9111000060003734", 16), ("91110000600037341LL", 19), ("", 0)]
)
def test_a_wrong_length_is_refused_with_the_count(value, count):
    error = refusal(value)
    assert error.code == "uscc_length"
    assert english(error) == (
        f"A Unified Social Credit Code has 18 characters; this one has {count}."
    )


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_the_standard_never_uses_are_refused_by_name(letter):
    value = "9111000060003734" + letter + "3"
    error = refusal(value)
    assert error.code == "uscc_forbidden_letter"
    assert english(error) == (
        "A Unified Social Credit Code never uses the letters I, O, S, V or Z; "
        f"this one contains {letter}."
    )


def test_punctuation_and_chinese_characters_are_refused():
    assert refusal("91110000600037341/").code == "uscc_alphabet"
    assert english(refusal("9111000060003734号L")) == (
        "A Unified Social Credit Code has only digits and capital letters."
    )


def test_characters_three_to_eight_must_be_a_region_code():
    error = refusal(code("911A0000600037341"))
    assert error.code == "uscc_region"
    assert english(error) == (
        "Characters 3 to 8 of a Unified Social Credit Code are a six-digit region code."
    )


@pytest.mark.parametrize("authority", ["0", "B", "M", "X"])
def test_an_unknown_registration_authority_is_refused(authority):
    error = refusal(code(authority + "1110000600037341"))
    assert error.code == "uscc_authority"
    assert english(error) == (
        "The first character of a credit code names the registration authority; "
        f"{authority} names none."
    )


@pytest.mark.parametrize("prefix", ["94", "99", "Y2", "N4", "28", "A2"])
def test_an_organisation_type_the_authority_does_not_register_is_refused(prefix):
    error = refusal(code(prefix + "110000600037341"))
    assert error.code == "uscc_type"
    assert english(error) == (
        "The second character of a credit code is the type of organisation; "
        f"authority {prefix[0]} registers no type {prefix[1]}."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "91110000600037341l",
        " 9111 0000 6000 3734 1L ",
        "91-110000-600037341-L",
        "9111\t0000600037341l",
    ],
)
def test_lower_case_spaces_and_hyphens_are_normalised(typed):
    validate_uscc(typed)
    assert normalise_uscc(typed) == "91110000600037341L"


def test_credit_code_messages_are_lazy_translations():
    # Rendered in the reader's language when shown, not in the language of the import.
    refused = [
        "123",
        "9111000060003734I3",
        "91110000600037341A",
        code("B1110000600037341"),
        code("911A0000600037341"),
        code("94110000600037341"),
        "91110000600037341/",
    ]
    for value in refused:
        assert isinstance(refusal(value).message, Promise), value


# --- Mobile numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["13800138000", "+86 138 0013 8000", "19912345678", "+8613800138000", "138-0013-8000"]
)
def test_mainland_mobile_numbers_are_accepted(value):
    validate_cn_mobile(value)
    assert normalise_mobile(value) in {"13800138000", "19912345678"}


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",  # no such mobile network
        "01012345678",  # a Beijing landline
        "010-6512 3456",  # a landline as people write it
        "10086",  # a service number
        "+1 650 253 0000",  # a US number
        "+852 9123 4567",  # a Hong Kong mobile: not mainland
        "1380013800",  # one digit short
        "not a number",
        "",
    ],
)
def test_other_numbers_are_refused_with_an_example(value):
    error = refusal(value, validate_cn_mobile)
    assert error.code == "mobile_invalid"
    assert english(error) == "Enter a valid mainland China mobile number, e.g. 138 0013 8000."
    assert isinstance(error.message, Promise)
