import pytest
from django.utils import translation

from huoban.customers.validation import (
    clean_contact_data,
    clean_customer_data,
    validate_id_number,
    validate_uscc,
)
from huoban.platform.records.contact_points import format_phone, normalize_email, normalize_phone, phone_kind

VALID_USCC = "91330106MA2GL1RQ8A"


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("0571-88888888", "+8657188888888"),
        ("(010) 6552 9988", "+861065529988"),
        ("+1 650 253 0000", "+16502530000"),
        ("0571-88888888 转 123", "+8657188888888;ext=123"),
        ("１３８００１３８０００", "+8613800138000"),
    ],
)
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "abc", "88888888", "1380013800", ""])
def test_normalize_phone_rejects(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_landline_without_area_code_message_in_both_languages():
    with translation.override("en"), pytest.raises(ValueError, match="area code"):
        normalize_phone("88888888")
    with translation.override("zh-hans"), pytest.raises(ValueError, match="区号"):
        normalize_phone("88888888")


def test_phone_kind_and_format():
    assert phone_kind("+8613800138000") == "mobile"
    assert phone_kind("+8657188888888") == "landline"
    assert format_phone("+8613800138000") == "138 0013 8000"


def test_normalize_email():
    assert normalize_email("  Li.Na@Example.COM ") == "Li.Na@example.com"
    assert normalize_email("mailto:a@b.cn") == "a@b.cn"
    for bad in ("no-at", "a@", "@b.com", "a b@c.com"):
        with pytest.raises(ValueError):
            normalize_email(bad)


def test_uscc_checksum():
    assert validate_uscc(VALID_USCC.lower()) == VALID_USCC
    with pytest.raises(ValueError, match="check digit"):
        validate_uscc(VALID_USCC[:-1] + "Y")
    with pytest.raises(ValueError, match="18 characters"):
        validate_uscc("123")


def test_id_number():
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValueError):
        validate_id_number("110105194912310021")


@pytest.mark.django_db
def test_clean_customer_data_normalises_everything():
    cleaned, errors = clean_customer_data(
        {
            "name": "  杭州  示例科技有限公司 ",
            "uscc": VALID_USCC.lower(),
            "phone": "138 0013 8000",
            "phones": "0571-88888888, 13800138000",
            "email": "Sales@Example.COM",
            "emails": ["info@example.com"],
            "region": "浙江省杭州市",
            "industry": "软件和信息技术服务业",
            "source": "展会",
            "size": "20-99",
            "lifecycle_stage": "Customer",
            "website": "Example.com/about",
            "rating": "4",
            "kind": "company",
        }
    )
    assert errors == {}
    assert cleaned["name"] == "杭州 示例科技有限公司"
    assert cleaned["uscc"] == VALID_USCC
    assert cleaned["phone"] == "+8613800138000"
    assert cleaned["phones"] == ["+8657188888888"]  # the primary is not repeated
    assert cleaned["email"] == "Sales@example.com"
    assert cleaned["region"] == "330100"
    assert cleaned["industry"] == "65"
    assert cleaned["source"] == "exhibition"
    assert cleaned["lifecycle_stage"] == "customer"
    assert cleaned["website"] == "https://example.com/about"
    assert cleaned["rating"] == 4


@pytest.mark.django_db
def test_clean_customer_data_collects_field_errors():
    with translation.override("en"):
        cleaned, errors = clean_customer_data(
            {
                "name": "",
                "uscc": "91330106MA2GL1RQ8Y",
                "phone": "123",
                "region": "Atlantis",
                "rating": 9,
                "industry": "basket weaving",
                "id_number": "11010519491231002X",
            }
        )
    assert set(errors) == {"name", "uscc", "phone", "region", "rating", "industry", "id_number"}
    assert "required" in errors["name"][0]
    with translation.override("zh-hans"):
        _c, errors = clean_customer_data({"name": "", "phone": "123"})
    assert errors["name"] == ["这个字段是必填项。"] or "必填" in errors["name"][0]


@pytest.mark.django_db
def test_partial_clean_only_checks_given_fields():
    cleaned, errors = clean_customer_data({"short_name": "示例"}, partial=True)
    assert errors == {} and cleaned == {"short_name": "示例"}


def test_clean_contact_data_consents_and_mobile():
    cleaned, errors = clean_contact_data(
        {
            "name": "王芳",
            "mobile": "13900139000",
            "consents": {"email": {"granted": True, "source": "web form"}, "sms": False},
            "left_company": True,
        }
    )
    assert errors == {}
    assert cleaned["mobile"] == "+8613900139000"
    assert (
        cleaned["consents"]["email"]["granted"] is True
        and cleaned["consents"]["email"]["source"] == "web form"
    )
    assert cleaned["consents"]["sms"]["granted"] is False and cleaned["consents"]["sms"]["at"]
    assert cleaned["left_at"] is not None
    _c, errors = clean_contact_data({"name": "x", "mobile": "0571-88888888", "consents": {"fax": True}})
    assert set(errors) == {"mobile", "consents"}


@pytest.mark.parametrize(
    "email",
    [
        "a@b.com",
        "A.B+tag@Example.ORG",
        "a@localhost",
        "a@[127.0.0.1]",
        "a@[999.1.1.1]",
        "x@例子.中国",
        '"quoted name"@example.com',
        "a b@c.com",
        "a@-x.com",
        "a@x",
        "a..b@c.com",
        "a@b." + "c" * 70,
        "a" * 320 + "@b.com",
    ],
)
def test_email_check_agrees_with_djangos_validator(email):
    """The import's fast e-mail check accepts exactly what Django's ``validate_email`` accepts."""
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
        expected = True
    except DjangoValidationError:
        expected = False
    try:
        normalize_email(email)
        got = True
    except ValueError:
        got = False
    assert got is expected
