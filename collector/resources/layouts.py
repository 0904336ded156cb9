"""Open-data layouts as data: one table per layout (its columns, in order), and one table saying
which resource field each column fills. Recognition, import and export all read these; adding a
layout is adding a table here, not code.

Two generations are covered:
- the Digital Agency's 自治体標準オープンデータセット ("std"): 全国地方公共団体コード, ID,
  地方公共団体名, the split address 所在地_*, 緯度, 経度, ...;
- the older 推奨データセット of 2020 ("rec"): 都道府県コード又は市区町村コード, NO, 住所, ...
  (column definitions transcribed in NEC-FIWARE/smart-data-models cio/).
Column names are compared after NFKC (full-width brackets in real files: 料金（基本）).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

# column -> resource field. A field filled by an earlier column is not overwritten (概要, then 説明).
COLUMN_FIELDS: dict[str, str] = {
    "全国地方公共団体コード": "org_code",
    "都道府県コード又は市区町村コード": "org_code",
    "市区町村コード": "org_code",
    "ID": "source_id",
    "NO": "source_id",
    "地方公共団体名": "org_name",
    "市区町村名": "city",
    "所在地_市区町村": "city",
    "名称": "name",
    "名称_カナ": "name_kana",
    "名称_英字": "name_en",
    "名称_英語": "name_en",
    "所在地_連結表記": "address",
    "住所": "address",
    "所在地_町字": "area",
    "緯度": "lat",
    "経度": "lon",
    "概要": "description",
    "説明": "description",
    "説明_英字": "description_en",
    "説明_英語": "description_en",
    "概要_英字": "description_en",
    "概要_英語": "description_en",
    "種別": "kind",
    "種類": "kind",
    "文化財分類": "tags",
    "電話番号": "contact",
    "連絡先電話番号": "contact",
    "URL": "url",
    "画像": "image_url",
    "所有者等": "owner_name",
    "団体名": "owner_name",
}

# Value checks by column (a bad value rejects the row, and with it the file).
CODE_COLUMNS = {  # digits only, leading zeros kept: never read as numbers
    "全国地方公共団体コード": (2, 6), "所在地_全国地方公共団体コード": (2, 6),
    "都道府県コード又は市区町村コード": (2, 6), "市区町村コード": (2, 6),
    "町字ID": (7, 7), "法人番号": (13, 13),
}
INTEGER_COLUMNS = {
    "男性トイレ総数", "男性トイレ数(小便器)", "男性トイレ数(和式)", "男性トイレ数(洋式)",
    "女性トイレ総数", "女性トイレ数(和式)", "女性トイレ数(洋式)", "男女共用トイレ総数",
    "男女共用トイレ数(和式)", "男女共用トイレ数(洋式)", "多機能トイレ数", "バリアフリートイレ数",
    "想定収容人数",
}

_STD_PLACE = ("所在地_全国地方公共団体コード", "町字ID", "所在地_連結表記", "所在地_都道府県",
              "所在地_市区町村", "所在地_町字", "所在地_番地以下", "建物名等(方書)", "緯度", "経度")
_STD_HEAD = ("全国地方公共団体コード", "ID", "地方公共団体名")
_HOURS = ("利用可能曜日", "開始時間", "終了時間", "利用可能日時特記事項")
_DISASTERS = ("災害種別_洪水", "災害種別_崖崩れ、土石流及び地滑り", "災害種別_高潮", "災害種別_地震",
              "災害種別_津波", "災害種別_大規模な火事", "災害種別_内水氾濫", "災害種別_火山現象")
_TOILETS = ("男性トイレ総数", "男性トイレ数(小便器)", "男性トイレ数(和式)", "男性トイレ数(洋式)",
            "女性トイレ総数", "女性トイレ数(和式)", "女性トイレ数(洋式)", "男女共用トイレ総数",
            "男女共用トイレ数(和式)", "男女共用トイレ数(洋式)")
_TOILET_FLAGS = ("車椅子使用者用トイレ有無", "乳幼児用設備設置トイレ有無", "オストメイト設置トイレ有無")


@dataclass(frozen=True)
class Layout:
    name: str            # our identifier, e.g. "std_tourism"
    dataset: str         # the dataset's Japanese name
    generation: str      # "std" (自治体標準) or "rec" (推奨データセット 2020)
    category: str        # the resource category its rows get (model.CATEGORIES)
    ngsi_type: str       # entity type in the NGSI-LD export
    columns: tuple[str, ...]
    signature: frozenset[str]  # columns a header must have to be read as this layout
    key: tuple[str, ...]       # columns identifying a row across imports
    aliases: dict[str, str] = field(default_factory=dict)  # header spelling -> column


def _layout(name: str, dataset: str, generation: str, category: str, ngsi_type: str,
            columns: tuple[str, ...], signature: tuple[str, ...],
            aliases: dict[str, str] | None = None) -> Layout:
    key = ("全国地方公共団体コード", "ID") if generation == "std" else (
        ("市区町村コード", "NO") if "市区町村コード" in columns else
        ("都道府県コード又は市区町村コード", "NO"))
    return Layout(name, dataset, generation, category, ngsi_type, columns,
                  frozenset(signature), key, aliases or {})


LAYOUTS: tuple[Layout, ...] = (
    # --- 自治体標準オープンデータセット (Digital Agency) ---
    _layout("std_tourism", "観光施設一覧", "std", "culture", "TouristAttraction",
            (*_STD_HEAD, "名称", "名称_カナ", "名称_英字", *_STD_PLACE, "電話番号", "内線番号",
             "連絡先メールアドレス", "連絡先FormURL", *_HOURS, "料金(基本)", "料金(詳細)",
             "説明", "説明_英字", "アクセス方法", "駐車場情報", "バリアフリー情報", "画像",
             "画像_ライセンス", "URL", "備考"),
            ("全国地方公共団体コード", "ID", "名称", "所在地_連結表記"),
            {"名称_英語": "名称_英字", "説明_英語": "説明_英字"}),
    _layout("std_cultural_property", "文化財一覧", "std", "culture", "CulturalProperty",
            (*_STD_HEAD, "名称", "名称_カナ", "名称_通称", "名称_英字", "文化財分類", "種類",
             "場所名称", *_STD_PLACE, "電話番号", "内線番号", "員数(数)", "員数(単位)",
             "法人番号", "所有者等", "文化財指定日", *_HOURS, "画像", "画像_ライセンス", "概要",
             "概要_英字", "説明", "説明_英字", "URL", "備考"),
            ("全国地方公共団体コード", "ID", "名称", "文化財分類"),
            {"名称_英語": "名称_英字", "説明_英語": "説明_英字", "概要_英語": "概要_英字"}),
    _layout("std_public_facility", "公共施設一覧", "std", "space", "PointOfInterest",
            (*_STD_HEAD, "名称", "名称_カナ", "名称_英字", "名称_通称", "POIコード", *_STD_PLACE,
             "電話番号", "内線番号", "連絡先メールアドレス", "連絡先FormURL", "法人番号", "団体名",
             *_HOURS, "説明", "バリアフリー情報", "画像", "画像_ライセンス", "URL", "備考"),
            ("全国地方公共団体コード", "ID", "名称", "所在地_連結表記"),
            {"名称_英語": "名称_英字"}),
    _layout("std_evacuation_site", "指定緊急避難場所一覧", "std", "space", "EvacuationSite",
            ("全国地方公共団体コード", "ID", "名称", "名称_カナ", "名称_英字", *_STD_PLACE, "標高",
             "電話番号", "内線番号", "連絡先メールアドレス", "連絡先FormURL",
             "連絡先備考(その他、SNSなど)", "郵便番号", "市区町村コード", "地方公共団体名",
             *_DISASTERS, "指定避難所との重複", "想定収容人数", "対象となる町会・自治会", "URL",
             "画像", "画像_ライセンス", "備考"),
            ("全国地方公共団体コード", "ID", "名称", "災害種別_地震"),
            {"名称_英語": "名称_英字"}),
    _layout("std_public_toilet", "公衆トイレ一覧", "std", "space", "PublicToilet",
            (*_STD_HEAD, "名称", "名称_カナ", "名称_英語", *_STD_PLACE[:8], "設置位置",
             "緯度", "経度", "高度の種別", "高度の値", *_TOILETS, "バリアフリートイレ数",
             *_TOILET_FLAGS, "利用開始時間", "利用終了時間", "利用可能時間特記事項", "画像",
             "画像_ライセンス", "備考"),
            ("全国地方公共団体コード", "ID", "名称", "男性トイレ総数"),
            {"名称_英字": "名称_英語"}),
    _layout("std_fire_water", "消防水利施設一覧", "std", "space", "FireWaterSupply",
            (*_STD_HEAD, "種別", *_STD_PLACE, "口径", "備考"),
            ("全国地方公共団体コード", "ID", "種別", "口径")),
    # --- 推奨データセット (2020) ---
    _layout("rec_tourism", "観光施設一覧", "rec", "culture", "TouristAttraction",
            ("都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称",
             "名称_カナ", "名称_英語", "POIコード", "住所", "方書", "緯度", "経度", *_HOURS,
             "料金(基本)", "料金(詳細)", "説明", "説明_英語", "アクセス方法", "駐車場情報",
             "バリアフリー情報", "連絡先名称", "連絡先電話番号", "連絡先内線番号", "画像",
             "画像_ライセンス", "URL", "備考"),
            ("都道府県コード又は市区町村コード", "NO", "名称", "住所")),
    _layout("rec_cultural_property", "文化財一覧", "rec", "culture", "CulturalProperty",
            ("都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称",
             "名称_カナ", "名称_通称", "名称_英語", "文化財分類", "種類", "場所名称", "住所", "方書",
             "緯度", "経度", "電話番号", "内線番号", "員数(数)", "員数(単位)", "法人番号",
             "所有者等", "文化財指定日", *_HOURS, "画像", "画像_ライセンス", "概要", "概要_英語",
             "説明", "説明_英語", "URL", "備考"),
            ("都道府県コード又は市区町村コード", "NO", "名称", "文化財分類")),
    _layout("rec_public_facility", "公共施設一覧", "rec", "space", "PointOfInterest",
            ("都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称",
             "名称_カナ", "名称_通称", "POIコード", "住所", "方書", "緯度", "経度", "電話番号",
             "内線番号", "法人番号", "団体名", *_HOURS, "説明", "バリアフリー情報", "URL", "備考"),
            ("都道府県コード又は市区町村コード", "NO", "名称", "住所")),
    _layout("rec_evacuation_site", "指定緊急避難場所一覧", "rec", "space", "EvacuationSite",
            ("NO", "名称", "名称_カナ", "住所", "方書", "緯度", "経度", "標高", "電話番号",
             "内線番号", "市区町村コード", "都道府県名", "市区町村名", *_DISASTERS,
             "指定避難所との重複", "想定収容人数", "対象となる町会・自治会", "URL", "備考"),
            ("NO", "名称", "住所", "災害種別_地震")),
    _layout("rec_public_toilet", "公衆トイレ一覧", "rec", "space", "PublicToilet",
            ("都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称",
             "名称_カナ", "名称_英語", "住所", "方書", "設置位置", "緯度", "経度", *_TOILETS,
             "多機能トイレ数", *_TOILET_FLAGS, "利用開始時間", "利用終了時間",
             "利用可能時間特記事項", "画像", "画像_ライセンス", "備考"),
            ("都道府県コード又は市区町村コード", "NO", "名称", "男性トイレ総数")),
    _layout("rec_fire_water", "消防水利施設一覧", "rec", "space", "FireWaterSupply",
            ("都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "種別", "住所",
             "方書", "緯度", "経度", "口径", "備考"),
            ("都道府県コード又は市区町村コード", "NO", "種別", "口径")),
)
BY_NAME = {lay.name: lay for lay in LAYOUTS}
MIN_SCORE = 0.5  # share of a layout's columns a header must have


def header_name(raw: str) -> str:
    """A header cell as compared with the tables: NFKC, no BOM, no surrounding space."""
    return unicodedata.normalize("NFKC", raw.replace("\ufeff", "")).strip()


def canonical(layout: Layout, header: list[str]) -> list[str]:
    """The header with each cell in its layout spelling (aliases resolved)."""
    return [layout.aliases.get(h, h) for h in (header_name(c) for c in header)]


def recognise(header: list[str]) -> tuple[Layout | None, float]:
    """The layout a header belongs to, with its score (share of the layout's columns present);
    None when no layout's signature is present with at least MIN_SCORE of its columns."""
    best: tuple[Layout | None, float] = (None, 0.0)
    for lay in LAYOUTS:
        cols = set(canonical(lay, header))
        if not lay.signature <= cols:
            continue
        score = len(cols & set(lay.columns)) / len(lay.columns)
        if score >= MIN_SCORE and score > best[1]:
            best = (lay, score)
    return best
