"""Validation of the Unified Social Credit Code and Chinese mobile numbers."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc as stdnum_uscc

# GB 32100-2015: 1 registration authority + 1 organisation type + 6 region + 9 organisation code
# + 1 check character, over the alphabet 0-9 and A-Z without I, O, S, V, Z.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_FORBIDDEN = "IOSVZ"
# Registration authorities (登记管理部门代码) of GB 32100-2015 with the organisation types
# (机构类别代码) each registers, plus 5-4 for grass-roots self-government bodies (村委会, 居委会),
# which civil affairs has coded since 2018.
_USCC_AUTHORITY_TYPES = {
    "1": "1239",  # organisation establishment (机构编制): organs, public institutions, ...
    "2": "19",  # foreign affairs: resident foreign news agencies, other
    "3": "123459",  # judicial administration: law firms, notaries, legal services, ...
    "4": "19",  # culture: foreign cultural centres, other
    "5": "12349",  # civil affairs: social organisations, private non-enterprise units, ...
    "6": "129",  # tourism: representative offices of foreign and HK/Macao/Taiwan tourism boards
    "7": "129",  # religious affairs: venues, colleges, other
    "8": "19",  # trade unions: grass-roots unions, other
    "9": "123",  # market regulation (工商): enterprises, individual businesses, cooperatives
    "A": "19",  # Central Military Commission: military public institutions, other
    "N": "1239",  # agriculture: rural collective economic organisations
    "Y": "1",  # other
}


def normalise_uscc(value: str) -> str:
    """The code as stored: upper case, without the spaces or hyphens people type between groups."""
    return re.sub(r"[\s-]", "", value or "").upper()


def uscc_check_character(first17: str) -> str:
    """The check character (weighted sum modulo 31) that completes the first 17 characters.

    python-stdnum computes it for any authority; its own ``validate`` refuses letter
    authorities (N, Y, A), which is why `validate_uscc` is ours.
    """
    return stdnum_uscc.calc_check_digit(first17)


def uscc_complete(first17: str) -> str:
    """The full credit code for its first 17 characters: they, followed by their check character."""
    return first17 + uscc_check_character(first17)


def validate_uscc(value: str) -> None:
    """Raise ValidationError unless `value` is a well-formed USCC with a correct check character.

    Each message says what is wrong, so a person can correct a typo.
    """
    code = normalise_uscc(value)
    if len(code) != 18:
        raise ValidationError(
            _("A Unified Social Credit Code has 18 characters; this one has %(count)d."),
            code="uscc_length",
            params={"count": len(code)},
        )
    forbidden = sorted({c for c in code if c in _USCC_FORBIDDEN})
    if forbidden:
        raise ValidationError(
            _(
                "A Unified Social Credit Code never uses the letters I, O, S, V or Z; "
                "this one contains %(letters)s."
            ),
            code="uscc_forbidden_letter",
            params={"letters": ", ".join(forbidden)},
        )
    if any(c not in _USCC_ALPHABET for c in code):
        raise ValidationError(
            _("A Unified Social Credit Code has only digits and capital letters."),
            code="uscc_alphabet",
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("Characters 3 to 8 of a Unified Social Credit Code are a six-digit region code."),
            code="uscc_region",
        )
    authority, org_type = code[0], code[1]
    if authority not in _USCC_AUTHORITY_TYPES:
        raise ValidationError(
            _(
                "The first character of a credit code names the registration authority; "
                "%(authority)s names none."
            ),
            code="uscc_authority",
            params={"authority": authority},
        )
    if org_type not in _USCC_AUTHORITY_TYPES[authority]:
        raise ValidationError(
            _(
                "The second character of a credit code is the type of organisation; "
                "authority %(authority)s registers no type %(type)s."
            ),
            code="uscc_type",
            params={"authority": authority, "type": org_type},
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _(
                "The last character of this credit code (its check character) does not match "
                "the others: please check the code for typos."
            ),
            code="uscc_checksum",
        )


def normalise_mobile(value: str) -> str:
    """Return the mobile number as 11 national digits, or the input unchanged if unparsable."""
    try:
        number = phonenumbers.parse(value or "", "CN")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).removeprefix(
        "+86"
    )


def validate_cn_mobile(value: str) -> None:
    """A valid mobile number of mainland China (is_valid_number, and of type MOBILE)."""
    message = _("Enter a valid mainland China mobile number, e.g. 138 0013 8000.")
    try:
        number = phonenumbers.parse(value or "", "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(message, code="mobile_invalid") from exc
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise ValidationError(message, code="mobile_invalid")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(message, code="mobile_invalid")
