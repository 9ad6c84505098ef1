"""Reading files: encodings (UTF-8, BOM, GBK/GB18030), delimiters, XLSX sheets, JSON, header rows."""

import json

import pytest

from huoban.platform.errors import ValidationError
from huoban.platform.transfer.sources import detect_encoding, format_for, inspect, open_source

from .conftest import csv_bytes, xlsx_bytes

ROWS = [
    ["客户名称", "手机", "备注"],
    ["杭州甲科技有限公司", "13800138000", "老客户"],
    ["上海乙贸易有限公司", "13900139000", ""],
]


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


@pytest.mark.parametrize(
    "encoding, detected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_encoding_detection(tmp_path, encoding, detected):
    path = write(tmp_path, "c.csv", csv_bytes(ROWS, encoding=encoding))
    info = inspect(path, "c.csv")
    assert info.detected_encoding == detected
    assert info.headers == ["客户名称", "手机", "备注"]
    assert info.sample_rows[0][0] == "杭州甲科技有限公司"


def test_encoding_override_and_bad_bytes(tmp_path):
    data = csv_bytes(ROWS, encoding="gbk")
    path = write(tmp_path, "c.csv", data)
    # forcing UTF-8 on a GBK file: undecodable bytes become U+FFFD (the engine rejects those rows)
    with open_source(path, "csv", encoding="utf-8") as src:
        rows = list(src.rows())
    assert "\ufffd" in rows[0][1][0]
    assert detect_encoding(data) == "gb18030"


def test_large_sample_does_not_split_multibyte_characters(tmp_path):
    rows = [["名称"]] + [["中文名称很长的公司" * 3] for _ in range(20000)]
    assert detect_encoding(csv_bytes(rows, encoding="utf-8")) == "utf-8"
    assert detect_encoding(csv_bytes(rows, encoding="gbk")) == "gb18030"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    path = write(tmp_path, "c.csv", csv_bytes(ROWS, delimiter=delimiter))
    info = inspect(path, "c.csv")
    assert info.delimiter == delimiter
    assert info.headers[1] == "手机"


def test_title_row_above_the_header_is_skipped(tmp_path):
    rows = [["客户名单 2024"], *ROWS]
    path = write(tmp_path, "c.csv", csv_bytes(rows))
    info = inspect(path, "c.csv")
    assert info.header_row == 2
    assert info.headers[0] == "客户名称"


def test_xlsx_first_and_chosen_sheet(tmp_path):
    data = xlsx_bytes(
        ROWS, sheet="客户", extra_sheets=[("联系人", [["姓名", "手机"], ["李娜", "13800138000"]])]
    )
    path = write(tmp_path, "c.xlsx", data)
    info = inspect(path, "c.xlsx")
    assert info.format == "xlsx" and info.sheets == ["客户", "联系人"] and info.sheet == "客户"
    assert info.headers == ["客户名称", "手机", "备注"]
    info = inspect(path, "c.xlsx", sheet="联系人")
    assert info.headers == ["姓名", "手机"]
    with open_source(path, "xlsx", sheet="联系人") as src:
        assert list(src.rows()) == [(2, ["李娜", "13800138000"])]
    with pytest.raises(ValidationError):
        inspect(path, "c.xlsx", sheet="nope")


def test_json_array_and_lines_stream(tmp_path):
    objs = [{"name": f"公司{i}", "phone": "13800138000", "extra": {"a": i}} for i in range(3000)]
    path = write(tmp_path, "c.json", json.dumps(objs, ensure_ascii=False).encode())
    info = inspect(path, "c.json")
    assert info.format == "json" and info.headers == ["name", "phone", "extra"]
    with open_source(path, "json") as src:
        rows = list(src.rows())
    assert len(rows) == 3000 and rows[-1][1][0] == "公司2999" and rows[0][1][2] == '{"a": 0}'
    lines = "\n".join(json.dumps(o, ensure_ascii=False) for o in objs[:3]) + "\nnot json\n"
    path = write(tmp_path, "c.jsonl", lines.encode())
    with open_source(path, "jsonl") as src:
        rows = list(src.rows())
    assert len(rows) == 4


def test_formats():
    assert format_for("a.XLSX") == "xlsx"
    assert format_for("data", b"PK\x03\x04") == "xlsx"
    assert format_for("x.ndjson") == "jsonl"
    assert format_for("x.bin", b"[{") == "json"
    with pytest.raises(ValidationError):
        format_for("old.xls", b"\xd0\xcf")


def test_empty_file_has_no_header(tmp_path):
    path = write(tmp_path, "e.csv", b"")
    with pytest.raises(ValidationError):
        inspect(path, "e.csv")
