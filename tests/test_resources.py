"""Local resources: open-data import and export on real formats in both encodings, search in
Japanese on SQLite and PostgreSQL, photos, moderation and needs × ideas matching."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from collector.app import create_app
from collector.resources import matching, model, opendata, photos, search
from collector.resources.layouts import BY_NAME, recognise
from collector.store import connect, migrate
from collector.users import add_user

VEC = Path(__file__).parent / "vectors" / "opendata"
FIRE = VEC / "yaizu_fire_water_std.csv"
FACILITIES = VEC / "yaizu_facilities_rec.csv"
TOURISM = VEC / "yaizu_tourism_rec.csv"
NOUEN = VEC / "yaizu_nouen_cp932.csv"
PASSWORD = "correct horse battery"


@pytest.fixture
def db(db_url: str):
    d = connect(db_url)
    migrate(d)
    yield d
    d.close()


def count(db, where: str = "1 = 1") -> int:
    return db.execute(f"SELECT COUNT(*) FROM resources WHERE {where}").fetchone()[0]


def sjis(path: Path) -> bytes:
    """The same file as a Shift_JIS (CP932) publisher would write it (no BOM)."""
    return path.read_bytes().decode("utf-8-sig").encode("cp932")


def test_layouts_are_recognised_from_real_headers() -> None:
    for path, name in ((FIRE, "std_fire_water"), (FACILITIES, "rec_public_facility"),
                       (TOURISM, "rec_tourism")):
        header = next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        assert recognise(header)[0] is BY_NAME[name], path.name
    # Each layout's own header is read as that layout, never as a neighbour.
    for lay in BY_NAME.values():
        assert recognise(list(lay.columns))[0] is lay, lay.name


def test_import_both_encodings_updates_instead_of_duplicating(db) -> None:
    r1 = opendata.import_bytes(db, FACILITIES.read_bytes(), FACILITIES.name)
    assert (r1.encoding, r1.layout, r1.inserted, r1.errors) == (
        "utf-8-sig", "rec_public_facility", 5, [])
    r2 = opendata.import_bytes(db, sjis(FACILITIES), "facilities_sjis.csv")
    assert (r2.encoding, r2.inserted, r2.updated, r2.unchanged) == ("cp932", 0, 0, 5)
    assert count(db) == 5
    # The city corrects a name: the row is updated in place.
    text = FACILITIES.read_bytes().decode("utf-8-sig").replace("港地域交流センター",
                                                               "港地域交流センター（改修後）")
    r3 = opendata.import_bytes(db, text.encode("cp932"), "facilities_v2.csv")
    assert (r3.updated, r3.unchanged, r3.inserted) == (1, 4, 0)
    names = {r[0] for r in db.execute("SELECT name FROM resources").fetchall()}
    assert "港地域交流センター（改修後）" in names and "港地域交流センター" not in names
    res = opendata.import_bytes(db, FIRE.read_bytes(), FIRE.name)
    assert (res.encoding, res.layout, res.inserted) == ("utf-8", "std_fire_water", 7)
    assert count(db) == 12


def test_codes_keep_leading_zeros_and_export_writes_the_layout_back(db) -> None:
    opendata.import_bytes(db, FIRE.read_bytes(), FIRE.name)
    out = opendata.to_csv(opendata.exported(db, "std_fire_water"))
    rows = list(csv.reader(io.StringIO(out)))
    original = list(csv.reader(io.StringIO(FIRE.read_text(encoding="utf-8"))))
    assert rows[0] == list(BY_NAME["std_fire_water"].columns)
    assert rows[1][rows[0].index("町字ID")] == "0003000"
    # The same layout comes back: every cell of the published file, in its order.
    assert [r[:len(original[0])] for r in rows[1:]] == [
        [c for c in r] for r in original[1:]]
    again = opendata.import_bytes(db, out.encode("cp932"), "roundtrip.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 7)
    geo = opendata.to_geojson(opendata.exported(db, None))
    f0 = geo["features"][0]
    assert f0["geometry"]["coordinates"] == [138.308824, 34.843137]
    assert f0["properties"]["町字ID"] == "0003000"
    ngsi = opendata.to_ngsi_ld(opendata.exported(db, "std_fire_water"))
    assert ngsi[0]["id"] == "urn:ngsi-ld:FireWaterSupply:222127-1"
    assert ngsi[0]["location"]["value"]["coordinates"] == [138.308824, 34.843137]
    assert ngsi[0]["町字ID"] == {"type": "Property", "value": "0003000"}


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_one_bad_row_imports_nothing_and_names_its_line(db, encoding: str) -> None:
    lines = FIRE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace("34.891785", "34.89x785")  # line 5 of the file
    data = "".join(lines).encode(encoding)
    res = opendata.import_bytes(db, data, "bad.csv")
    assert [(e.line, e.message) for e in res.errors] == [(5, "緯度 '34.89x785': a number expected")]
    assert count(db) == 0
    # A good file imported before stays as it was: nothing of the bad file is written.
    opendata.import_bytes(db, FACILITIES.read_bytes(), FACILITIES.name)
    lines[4] = lines[4].replace("34.89x785", "34.891785").replace("222127,0007000",
                                                                  "222127,000700")
    res = opendata.import_bytes(db, "".join(lines).encode(encoding), "bad2.csv")
    assert [e.line for e in res.errors] == [5] and "町字ID" in res.errors[0].message
    assert count(db) == 5


def test_line_numbers_count_line_breaks_inside_quoted_fields(db) -> None:
    text = TOURISM.read_bytes().decode("utf-8-sig")
    physical = text.count("\r\n")
    header = next(csv.reader(io.StringIO(text)))
    bad = ["222127", "X1", "静岡県", "焼津市", "", "カナ"] + [""] * (len(header) - 6)
    res = opendata.import_bytes(db, (text + ",".join(bad) + "\r\n").encode("utf-8"), "t.csv")
    assert [(e.line, e.message) for e in res.errors] == [(physical + 1, "名称 is empty")]
    good = opendata.import_bytes(db, TOURISM.read_bytes(), TOURISM.name)
    assert good.inserted == 4 and good.errors == []
    lines = {r[0]: r[1] for r in db.execute("SELECT name, source_line FROM resources")}
    assert sorted(lines.values())[:2] == [2, 3]


def test_unknown_layout_is_named_and_the_cli_imports_what_it_knows(tmp_path: Path) -> None:
    with pytest.raises(opendata.ImportError_, match="unknown layout.*農園名"):
        opendata.parse(NOUEN.read_bytes(), NOUEN.name)
    dbf = tmp_path / "c.sqlite"
    out = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "resources",
                          "import", "--db", str(dbf), str(NOUEN), str(FIRE)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1  # one file failed
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert results[0]["imported"] is False and "農園名" in results[0]["error"]
    assert results[1]["imported"] is True and results[1]["inserted"] == 7
    exp = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "resources",
                          "export", "--db", str(dbf), "--format", "geojson"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert len(json.loads(exp.stdout)["features"]) == 7
    bad = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "resources",
                          "export", "--db", str(dbf), "--dataset", "nonsense"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "unknown dataset 'nonsense'" in bad.stderr
    empty = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "resources",
                            "export", "--db", str(dbf), "--dataset", "std_tourism"],
                           capture_output=True, text=True, timeout=60, check=True)
    assert empty.stdout.splitlines() == [",".join(BY_NAME["std_tourism"].columns)]


def _add(db, name: str, **kw) -> int:
    return model.save(db, model.validate(model.Resource(category=kw.pop("category", "culture"),
                                                        name=name, **kw)))


def names(db, **args: str) -> list[str]:
    items, _ = search.search(db, search.parse_query(args))
    return [r.name for r in items]


def test_japanese_search_one_two_three_characters(db) -> None:
    opendata.import_bytes(db, FACILITIES.read_bytes(), FACILITIES.name)
    opendata.import_bytes(db, FIRE.read_bytes(), FIRE.name)
    _add(db, "花沢の里", name_kana="ハナザワノサト", tags=("景観", "茶畑"), category="nature",
         lat=34.88, lon=138.29, status="at_risk", area="花沢")
    _add(db, "会員向け工房", visibility="members", category="people")
    _add(db, "審査中の空き家", review="pending", category="space")
    # 1 character
    assert names(db, q="里") == ["花沢の里"]
    assert len(names(db, q="水")) == 8  # 防火水そう ×7 and the 深層水 museum
    # 2 characters, kana typed either way
    assert names(db, q="はな") == names(db, q="ハナ") == ["花沢の里"]
    assert names(db, q="茶畑") == ["花沢の里"]
    # 3 and more, mixed kana and kanji, full-width and half-width
    assert names(db, q="深層水") == ["駿河湾深層水利用促進交流施設（深層水ミュージアム）"]
    assert names(db, q="深層水みゅーじあむ") == names(db, q="深層水ﾐｭｰｼﾞｱﾑ")
    assert len(names(db, q="深層水みゅーじあむ")) == 1
    assert names(db, q="はなざわのさと") == ["花沢の里"]
    assert names(db, q="ない言葉") == []
    assert names(db, q="（") == names(db, q="(") == [  # punctuation only: the scan fallback
        "駿河湾深層水利用促進交流施設（深層水ミュージアム）", "大井川福祉センター（ほほえみ）"]
    # Only public and reviewed for the public; members see members-only too
    assert names(db, q="工房") == [] and names(db, q="空き家") == []
    items, _ = search.search(db, search.parse_query({"q": "工房"}, members=True))
    assert [r.name for r in items] == ["会員向け工房"]
    # Facets and filters
    assert names(db, category="nature") == ["花沢の里"]
    assert names(db, status="at_risk") == ["花沢の里"]
    assert names(db, tag="茶畑") == ["花沢の里"]
    assert names(db, bbox="138.28,34.87,138.30,34.89") == ["花沢の里"]
    fac = search.facets(db, search.parse_query({"q": "水"}))
    assert fac["category"] == [{"value": "space", "count": 8}]  # 7 hydrants + 深層水 museum
    # Keyset pages: all matches, each once
    seen, cursor = [], ""
    while True:
        items, nxt = search.search(db, search.parse_query({"q": "水", "limit": "3",
                                                           "cursor": cursor}))
        seen += [r.id for r in items]
        if nxt is None:
            break
        cursor = str(nxt)
    assert len(seen) == len(set(seen)) == 8
    for bad in ({"limit": "0"}, {"cursor": "x"}, {"category": "food"}, {"bbox": "1,2,3"},
                {"q": "あ" * 101}):
        with pytest.raises(search.SearchError):
            search.parse_query(bad)


def test_search_api_matches_the_openapi_document(tmp_path: Path) -> None:
    import jsonschema

    url = str(tmp_path / "c.sqlite")
    d = connect(url)
    migrate(d)
    opendata.import_bytes(d, FACILITIES.read_bytes(), FACILITIES.name)
    d.close()
    c = create_app({"DATABASE": url, "TESTING": True}).test_client()
    doc = c.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/resources"]["get"]
    for query, code in (("?q=港&facets=1", "200"), ("?limit=2", "200"), ("?limit=x", "400")):
        r = c.get("/api/v1/resources" + query)
        assert str(r.status_code) == code
        schema = op["responses"][code]["content"]["application/json"]["schema"]
        v = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
        assert list(v.iter_errors(r.get_json())) == [], query
    body = c.get("/api/v1/resources?limit=2").get_json()
    assert len(body["items"]) == 2 and body["next"]
    assert all("contact" not in it for it in body["items"])


def _jpeg_with_gps(w: int = 2400, h: int = 1800) -> bytes:
    img = Image.new("RGB", (w, h), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    gps = {1: "N", 2: (34.0, 52.0, 10.0), 3: "E", 4: (138.0, 19.0, 30.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_photos_are_checked_resized_and_stripped_of_location() -> None:
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the GPS is there before
    mime, w, h, data = photos.process(raw)
    out = Image.open(io.BytesIO(data))
    assert (mime, w, h, out.size) == ("image/jpeg", 1600, 1200, (1600, 1200))
    assert dict(out.getexif()) == {} and b"Exif" not in data[:64]
    with pytest.raises(photos.PhotoError, match="not a readable image"):
        photos.process(b"<svg onload=alert(1)></svg>")
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(photos.PhotoError, match="only JPEG, PNG or WebP"):
        photos.process(gif.getvalue())
    with pytest.raises(photos.PhotoError, match="larger than"):
        photos.process(b"\xff" * (photos.MAX_BYTES + 1))


def test_score_parts_are_explained() -> None:
    need = matching.Post("need", "空き家を使った子ども食堂", "週末に子ども食堂を開ける場所を探しています",
                         ("空き家", "子ども食堂"), "group", 1, None, 34.87, 138.31)
    idea = matching.Post("idea", "空き家で子ども食堂", "空き家を改修して子ども食堂と学習支援をする",
                         ("空き家", "学習支援"), "resident", 2, None, 34.875, 138.31)
    s, parts = matching.score(need, idea)
    assert parts["tags"] == {"value": 0.333, "shared": ["空き家"], "weight": 0.35}
    assert parts["distance"]["km"] == pytest.approx(0.56, abs=0.01)
    assert 0 < parts["text"]["value"] < 1 and parts["resource"]["value"] == 0.0
    assert s == round(sum(p["value"] * p["weight"] for p in parts.values()), 3)
    far = matching.Post(**{**idea.__dict__, "lat": 35.5, "lon": 139.7})
    assert matching.score(need, far)[0] < s  # the same idea far away scores lower


def test_matching_flow_on_both_databases(db) -> None:
    rid = _add(db, "旧商店街の空き店舗", category="space", tags=("空き店舗",), lat=34.86, lon=138.32)
    need = matching.add_post(db, matching.Post(
        "need", "空き店舗で朝市", "空き店舗を借りて地元の野菜の朝市を開きたい", ("空き店舗", "朝市"),
        "business", 1, rid))
    idea = matching.add_post(db, matching.Post(
        "idea", "朝市と交流の場", "空き店舗で朝市を開き、高齢者の交流の場にする", ("朝市", "交流"),
        "resident", 2, rid))
    assert matching.similar(db, "need", "空き店舗で朝市", "空き店舗を借りて朝市", 3) == []  # pending, not mine
    assert [p.id for p, _ in matching.similar(db, "need", "空き店舗で朝市",
                                              "空き店舗を借りて地元の野菜の朝市", 1)] == [need]
    assert matching.review_post(db, need, True) == []  # nothing to match yet
    [mid] = matching.review_post(db, idea, True)
    m = db.execute("SELECT score, parts FROM resource_matches WHERE id = ?", (mid,)).fetchone()
    parts = json.loads(m[1])
    assert parts["resource"]["value"] == 1.0 and parts["tags"]["shared"] == ["朝市"]
    notices = db.execute("SELECT user_id, kind FROM notices ORDER BY user_id").fetchall()
    assert [tuple(n) for n in notices] == [(1, "match"), (2, "match")]
    with pytest.raises(PermissionError):
        matching.answer(db, mid, 3, True)
    assert matching.answer(db, mid, 1, True) is None
    pid = matching.answer(db, mid, 2, True)
    assert pid is not None
    matching.set_project_status(db, pid, "in_progress", "4月から")
    row = db.execute("SELECT status, note FROM resource_projects").fetchone()
    assert tuple(row) == ("in_progress", "4月から")
    kinds = [r[0] for r in db.execute("SELECT kind FROM notices WHERE user_id = 1 ORDER BY id")]
    assert kinds == ["match", "project", "project_status"]


@pytest.fixture
def web(tmp_path: Path):
    url = str(tmp_path / "c.sqlite")
    d = connect(url)
    migrate(d)
    for name, role in (("planner-user", "planner"), ("hanako", "viewer"), ("taro", "viewer")):
        add_user(d, name, PASSWORD, role)
    d.close()
    return create_app({"DATABASE": url, "TESTING": True})


def login(app, user: str):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c.post("/login", data={"username": user, "password": PASSWORD,
                                  "csrf_token": token}).status_code == 302
    page = c.get("/resources/suggest").get_data(as_text=True)  # signing in renews the token
    return c, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_suggested_resource_waits_for_review_and_keeps_contact_private(web) -> None:
    c, token = login(web, "hanako")
    form = {"csrf_token": token, "category": "culture", "name": "<script>祭り囃子</script>",
            "description": "毎年秋の祭り囃子。担い手が減っている", "tags": "祭り, 伝統芸能",
            "status": "at_risk", "visibility": "public", "contact": "090-0000-0000",
            "photo": (io.BytesIO(_jpeg_with_gps(800, 600)), "p.jpg")}
    r = c.post("/resources/suggest", data=form, content_type="multipart/form-data")
    assert r.status_code == 200 and "確認後に公開" in r.get_data(as_text=True)
    anon = web.test_client()
    assert "祭り囃子" not in anon.get("/resources?q=祭り").get_data(as_text=True)
    assert anon.get("/resources/1").status_code == 404
    assert anon.get("/resources/photos/1").status_code == 404
    p, ptoken = login(web, "planner-user")
    assert "祭り囃子" in p.get("/resources/admin").get_data(as_text=True)
    p.post("/resources/admin/review", data={"csrf_token": ptoken, "what": "resource",
                                            "id": "1", "decision": "approve"})
    page = anon.get("/resources/1").get_data(as_text=True)
    assert "&lt;script&gt;祭り囃子&lt;/script&gt;" in page and "<script>祭り" not in page
    assert "090-0000-0000" not in page and "失われるおそれ" in page
    assert "090-0000-0000" not in anon.get("/api/v1/resources?q=祭り").get_data(as_text=True)
    img = anon.get("/resources/photos/1")
    assert img.status_code == 200 and img.headers["Content-Type"] == "image/jpeg"
    assert dict(Image.open(io.BytesIO(img.data)).getexif()) == {}
    # A planner adds a photo to an imported resource; another user may not.
    t, ttoken = login(web, "taro")
    up = {"csrf_token": ttoken, "photo": (io.BytesIO(_jpeg_with_gps(640, 480)), "b.jpg")}
    assert t.post("/resources/1/photos", data=up,
                  content_type="multipart/form-data").status_code == 403
    up = {"csrf_token": ptoken, "photo": (io.BytesIO(b"not an image"), "b.jpg")}
    r = p.post("/resources/1/photos", data=up, content_type="multipart/form-data")
    assert r.status_code == 400 and "not a readable image" in r.get_data(as_text=True)
    up = {"csrf_token": ptoken, "photo": (io.BytesIO(_jpeg_with_gps(640, 480)), "b.jpg")}
    r = p.post("/resources/1/photos", data=up, content_type="multipart/form-data")
    assert r.status_code == 200 and "/resources/photos/2" in r.get_data(as_text=True)
    # A planner's correction shows in search at once.
    fix = {"csrf_token": ptoken, "id": "1", "name": "秋祭りの祭り囃子", "tags": "祭り, 囃子",
           "category": "culture", "status": "at_risk", "visibility": "public"}
    assert p.post("/resources/admin/resource", data=fix).status_code == 200
    assert [i["name"] for i in anon.get("/api/v1/resources?q=秋祭").get_json()["items"]] == [
        "秋祭りの祭り囃子"]
    r = p.post("/resources/admin/resource", data={**fix, "category": "food"})
    assert r.status_code == 400 and "category must be one of" in r.get_data(as_text=True)
    bad = dict(form, photo=(io.BytesIO(b"GIF89a not really"), "x.jpg"))
    r = c.post("/resources/suggest", data=bad, content_type="multipart/form-data")
    assert r.status_code == 400 and "not a readable image" in r.get_data(as_text=True)
    r = c.post("/resources/suggest", data={**form, "photo": (io.BytesIO(b""), ""),
                                           "lat": "north"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "lat: a number" in r.get_data(as_text=True)


def test_posting_shows_similar_posts_first(web) -> None:
    c, token = login(web, "hanako")
    post = {"csrf_token": token, "kind": "need", "poster_type": "group",
            "title": "空き家で子ども食堂", "body": "週末に子ども食堂を開ける空き家を探しています",
            "tags": "空き家"}
    assert "投稿しました" in c.post("/resources/posts/new", data=post).get_data(as_text=True)
    again = c.post("/resources/posts/new", data=post).get_data(as_text=True)
    assert "似た投稿がすでにあります" in again and 'name="confirmed" value="1"' in again
    d = connect(web.config["DATABASE"])
    assert d.execute("SELECT COUNT(*) FROM resource_posts").fetchone()[0] == 1
    d.close()
    r = c.post("/resources/posts/new", data={**post, "confirmed": "1"})
    assert "投稿しました" in r.get_data(as_text=True)
    r = c.post("/resources/posts/new", data={**post, "title": "x"})
    assert r.status_code == 400 and "title" in r.get_data(as_text=True)
    assert "空き家で子ども食堂" not in web.test_client().get("/resources/posts").get_data(
        as_text=True)  # nothing public before review


def test_import_killed_midway_leaves_nothing_half_imported(tmp_path: Path) -> None:
    """SIGKILL while the import writes: afterwards the file is wholly there or not at all,
    and importing it again completes it without duplicates."""
    import os
    import signal

    from machimori.procs import wait_for

    lines = FIRE.read_text(encoding="utf-8").splitlines()
    n = 40_000
    body = [lines[0]] + [f"222127,{i},静岡県焼津市,防火水そう,222127,0003000,"
                         f"静岡県焼津市石津{i}番地,静岡県,焼津市,石津,{i}番地,,34.84,138.30,,"
                         for i in range(1, n + 1)]
    big = tmp_path / "big.csv"
    big.write_text("\n".join(body) + "\n", encoding="utf-8")
    dbf = tmp_path / "c.sqlite"
    d = connect(str(dbf))
    migrate(d)
    d.close()
    wal = Path(str(dbf) + "-wal")
    cmd = [sys.executable, "-m", "machimori.cli", "collector", "resources", "import", "--db",
           str(dbf), str(big)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # Writing has begun: the transaction spills pages into the WAL before it commits.
        wait_for(lambda: wal.exists() and wal.stat().st_size > 4_000_000
                 or proc.poll() is not None, 120, "the import writing")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    d = connect(str(dbf))
    got = d.execute("SELECT COUNT(*) FROM resources").fetchone()[0]
    d.close()
    assert got in (0, n)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    res = json.loads(again.stdout)
    assert (res["inserted"], res["unchanged"]) == (n - got, got)
    d = connect(str(dbf))
    row = d.execute("SELECT COUNT(*), COUNT(DISTINCT source_key) FROM resources").fetchone()
    assert tuple(row) == (n, n)
    d.close()


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_layout_imports_from_shift_jis_and_exports_the_same_row(db, name: str) -> None:
    lay = BY_NAME[name]
    sample = {"全国地方公共団体コード": "012025", "都道府県コード又は市区町村コード": "012025",
              "市区町村コード": "012025", "ID": "0007", "NO": "0007", "名称": "函館ハリストス正教会",
              "名称_カナ": "ハコダテハリストスセイキョウカイ", "所在地_連結表記": "北海道函館市元町3-13",
              "住所": "北海道函館市元町3-13", "町字ID": "0001001", "緯度": "41.7640", "経度": "140.7124",
              "文化財分類": "国指定;重要文化財", "種類": "建造物", "種別": "消火栓", "口径": "150",
              "男性トイレ総数": "2", "想定収容人数": "0300", "災害種別_地震": "1",
              "説明": "明治の聖堂、\"ガンガン寺\"", "法人番号": "1234567890123"}
    row = [sample.get(c, "") for c in lay.columns]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([lay.columns, row])
    res = opendata.import_bytes(db, buf.getvalue().encode("cp932"), f"{name}.csv")
    assert (res.layout, res.encoding, res.inserted, res.errors) == (name, "cp932", 1, [])
    out = list(csv.reader(io.StringIO(opendata.to_csv(opendata.exported(db, name)))))
    assert out == [list(lay.columns), row]
    r = model.get(db, db.execute("SELECT id FROM resources").fetchone()[0])
    assert r is not None and r.lat == pytest.approx(41.764) and r.category == lay.category


def test_rows_without_ids_import_and_reimport_without_duplicates(db) -> None:
    """Real 自治体標準 files often leave ID empty: such rows are known by name and place, and
    identical ones by their order; a repeated explicit ID is an error."""
    head = ",".join(BY_NAME["std_fire_water"].columns)
    rows = ["462209,,鹿児島県南さつま市,消火栓,,,,鹿児島県,南さつま市,本町中央,,,31.420235,130.320918,150,",
            "462209,,鹿児島県南さつま市,消火栓,,,,鹿児島県,南さつま市,大浦町,,,,,150,",
            "462209,,鹿児島県南さつま市,消火栓,,,,,,,,,,,150,",
            "462209,,鹿児島県南さつま市,消火栓,,,,,,,,,,,150,"]
    data = "\n".join([head, *rows]).encode("cp932")
    assert opendata.import_bytes(db, data, "a.csv").inserted == 4
    again = opendata.import_bytes(db, data, "a.csv")
    assert (again.inserted, again.unchanged, count(db)) == (0, 4, 4)
    dup = f"{head}\n462209,7,,消火栓,,,,,,,,,,,150,\n462209,7,,消火栓,,,,,,,,,,,65,"
    res = opendata.import_bytes(db, dup.encode(), "dup.csv")
    assert [(e.line, e.message) for e in res.errors] == [(3, "same ID as line 2")]


def test_a_planners_correction_is_exported_until_the_city_publishes_again(db) -> None:
    opendata.import_bytes(db, FACILITIES.read_bytes(), FACILITIES.name)
    r = model.find_source(db, "rec_public_facility", "222127|10947")
    assert r is not None and r.name == "港地域交流センター"
    model.save(db, replace(r, name="港地域交流センター（みなとセンター）", status="at_risk"))
    rows = list(csv.reader(io.StringIO(opendata.to_csv(
        opendata.exported(db, "rec_public_facility")))))
    assert rows[2][rows[0].index("名称")] == "港地域交流センター（みなとセンター）"
    # The municipality's file is the source of its own columns; the catalogue's status stays.
    again = opendata.import_bytes(db, sjis(FACILITIES), "again.csv")
    assert (again.updated, again.unchanged) == (1, 4)
    r = model.find_source(db, "rec_public_facility", "222127|10947")
    assert r is not None and (r.name, r.status) == ("港地域交流センター", "at_risk")
