"""Validation of the Unified Social Credit Code and Chinese mobile numbers."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError as StdnumError

# GB 32100-2015: 1 registration authority + 1 organisation type + 6 region + 9 organisation code
# + 1 check character, over the alphabet 0-9 and A-Z without I, O, S, V, Z.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# Registration authorities (登记管理部门代码) that GB 32100 assigns, with their organisation types.
_USCC_AUTHORITY_TYPES = {
    "1": "1239",  # organisation establishment (机构编制)
    "2": "129",  # foreign affairs
    "3": "12345",  # justice
    "4": "1239",  # culture
    "5": "1239",  # civil affairs
    "6": "129",  # tourism
    "7": "129",  # religious affairs
    "8": "129",  # trade unions
    "9": "123",  # market regulation (工商)
    "A": "19",  # central military commission
    "N": "12349",  # agriculture (rural collectives)
    "Y": "1",  # other
}


def normalise_uscc(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def uscc_check_character(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    """Raise ValidationError unless `value` is a well-formed USCC with a correct check character.

    python-stdnum checks the checksum only for codes with 8 leading digits; letter authorities
    (N, Y, A) are common among real enterprises and rural cooperatives, so the rule is ours.
    """
    code = normalise_uscc(value)
    if len(code) != 18:
        raise ValidationError(
            _("A Unified Social Credit Code has 18 characters; this one has %(count)d."),
            code="uscc_length",
            params={"count": len(code)},
        )
    if not _USCC_SHAPE.match(code):
        raise ValidationError(
            _(
                "A Unified Social Credit Code uses digits and capital letters except I, O, S, V "
                "and Z, and characters 3 to 8 are a region code."
            ),
            code="uscc_alphabet",
        )
    authority, org_type = code[0], code[1]
    if authority not in _USCC_AUTHORITY_TYPES or org_type not in _USCC_AUTHORITY_TYPES[authority]:
        raise ValidationError(
            _("The first two characters of this credit code name no registration authority."),
            code="uscc_authority",
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this credit code is wrong: please check it for typos."),
            code="uscc_checksum",
        )
    if code[:8].isdigit():
        # Cross-check with python-stdnum where it applies: both must agree.
        try:
            stdnum_uscc.validate(code)
        except InvalidChecksum as exc:  # pragma: no cover - our check above already caught it
            raise ValidationError(_("The check character of this credit code is wrong."), code="uscc_checksum") from exc
        except StdnumError:
            pass


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
