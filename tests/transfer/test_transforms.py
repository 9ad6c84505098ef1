"""Every cell transformation of the import pipeline (pure functions, no database)."""

import datetime as dt
from decimal import Decimal

import pytest

from huoban.platform.transfer.transforms import (
    CellError,
    cell_text,
    halfwidth,
    key_hash,
    key_text,
    looks_like_formula,
    normalize_email,
    normalize_phone,
    normalize_url,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_integer,
    trim,
)


def test_trim_and_halfwidth():
    assert trim("\u3000 杭州 \u00a0") == "杭州"
    assert halfwidth("ＡＢＣ１２３（有限）\u3000公司") == "ABC123(有限) 公司"
    assert halfwidth("plain ascii") == "plain ascii"


@pytest.mark.parametrize(
    "value, fmt, expected",
    [
        ("2024-01-05", "auto", dt.date(2024, 1, 5)),
        ("2024/1/5", "auto", dt.date(2024, 1, 5)),
        ("2024.01.05", "auto", dt.date(2024, 1, 5)),
        ("2024年1月5日", "auto", dt.date(2024, 1, 5)),
        ("２０２４年１月５日", "auto", dt.date(2024, 1, 5)),
        ("20240105", "auto", dt.date(2024, 1, 5)),
        ("25/12/2024", "auto", dt.date(2024, 12, 25)),  # day > 12: day first
        ("12/25/2024", "auto", dt.date(2024, 12, 25)),
        ("03/04/2024", "DD/MM/YYYY", dt.date(2024, 4, 3)),
        ("03/04/2024", "MM/DD/YYYY", dt.date(2024, 3, 4)),
        ("03/04/2024", "auto", dt.date(2024, 3, 4)),  # ambiguous: month first unless told
        ("5 Jan 2024", "auto", dt.date(2024, 1, 5)),
        ("Jan 5, 2024", "auto", dt.date(2024, 1, 5)),
        ("45292", "auto", dt.date(2024, 1, 1)),  # Excel serial
        (45292, "excel", dt.date(2024, 1, 1)),
        (45292.75, "auto", dt.date(2024, 1, 1)),
        (dt.datetime(2024, 1, 5, 10, 30), "auto", dt.date(2024, 1, 5)),
        ("2024-01-05 10:30", "auto", dt.date(2024, 1, 5)),
    ],
)
def test_dates(value, fmt, expected):
    assert parse_date(value, fmt) == expected


@pytest.mark.parametrize(
    "value, fmt",
    [("2024-02-30", "auto"), ("not a date", "auto"), ("13/13/2024", "auto"), ("2024-01-05", "DD/MM/YYYY")],
)
def test_bad_dates(value, fmt):
    with pytest.raises(CellError):
        parse_date(value, fmt)


def test_datetimes_are_aware_in_the_given_zone():
    import zoneinfo

    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    d = parse_datetime("2024年1月5日 14:30", tz=tz)
    assert d.tzinfo is not None and d.hour == 14 and d.utcoffset() == dt.timedelta(hours=8)
    assert parse_datetime("2024-01-05 2:30 pm", tz=tz).hour == 14
    assert parse_datetime("2024-01-05", tz=tz).hour == 0
    with pytest.raises(CellError):
        parse_datetime("2024-01-05 25:99", tz=tz)


@pytest.mark.parametrize(
    "value, sep, expected",
    [
        ("1,234.50", "auto", Decimal("1234.50")),
        ("1.234,50", "auto", Decimal("1234.50")),
        ("¥1,234.50", "auto", Decimal("1234.50")),
        ("￥1,234.50元", "auto", Decimal("1234.50")),
        ("RMB 1,234", "auto", Decimal("1234")),
        ("$ 12.5", "auto", Decimal("12.5")),
        ("(1,234.50)", "auto", Decimal("-1234.50")),
        ("-12", "auto", Decimal("-12")),
        ("1.5万", "auto", Decimal("15000")),
        ("2亿", "auto", Decimal("200000000")),
        ("1.234.567", "auto", Decimal("1234567")),
        ("12,5", "auto", Decimal("12.5")),
        ("1,234", "auto", Decimal("1234")),
        ("1.234", ",", Decimal("1234")),
        ("１，２３４．５", "auto", Decimal("1234.5")),
        (1234.5, "auto", Decimal("1234.5")),
        (7, "auto", Decimal(7)),
    ],
)
def test_numbers_and_money(value, sep, expected):
    assert parse_decimal(value, sep) == expected


@pytest.mark.parametrize("value", ["abc", "1,2,3.4.5", "", "¥", True])
def test_bad_numbers(value):
    with pytest.raises(CellError):
        parse_decimal(value)


def test_integers():
    assert parse_integer("1,000") == 1000
    assert parse_integer(12.0) == 12
    with pytest.raises(CellError):
        parse_integer("12.5")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("0571-88888888", "+8657188888888"),
        ("(010) 8888 8888", "+861088888888"),
        ("0571-88888888 转 123", "+8657188888888;ext=123"),
        ("+1 650 253 0000", "+16502530000"),
        (13800138000, "+8613800138000"),
    ],
)
def test_phones(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize("value", ["12345", "abc", "+86 999"])
def test_bad_phones(value):
    with pytest.raises(CellError):
        normalize_phone(value)


def test_emails_urls_booleans():
    assert normalize_email(" Li.Na@Example.COM ") == "Li.Na@example.com"
    assert normalize_email("mailto:a@b.cn") == "a@b.cn"
    with pytest.raises(CellError):
        normalize_email("not-an-email")
    assert normalize_url("www.example.com") == "www.example.com"
    with pytest.raises(CellError):
        normalize_url("not a url")
    for t in ("是", "yes", "TRUE", "1", "√", "Y"):
        assert parse_bool(t) is True
    for f in ("否", "no", "false", "0", "×"):
        assert parse_bool(f) is False
    with pytest.raises(CellError):
        parse_bool("maybe")


@pytest.mark.parametrize(
    "value, formula",
    [
        ("=cmd|' /C calc'!A0", True),
        ("=1+1", True),
        ("@SUM(1+1)*cmd|' /C calc'!A0", True),
        ("+cmd|' /C calc'!A0", True),
        ("-2+3+cmd|' /C calc'!A0", True),
        ('=HYPERLINK("http://x")', True),
        ("+86 138 0013 8000", False),
        ("-12.5", False),
        ("+(86) 138 0013 8000", False),
        ("@huoban", False),
        ("杭州公司", False),
        ("-", False),
    ],
)
def test_formula_detection(value, formula):
    assert looks_like_formula(value) is formula


def test_keys_and_cell_text():
    assert key_text(" 杭州（示例）有限公司 ") == key_text("杭州(示例)有限公司")
    assert key_text("ACME Co.") == key_text("acme co")
    assert key_hash("a", "b") == key_hash("a", "b") != key_hash("a", "c")
    assert (
        cell_text(12.0) == "12"
        and cell_text(dt.datetime(2024, 1, 5)) == "2024-01-05"
        and cell_text(None) == ""
    )
