"""Wide&Deep checkpoints of `ember train --save` in Python: load_model() reads the tensors
into numpy (or torch) and the metadata that says how data was encoded, and Model.predict
scores rows with ember's own ops, so the probabilities are those `ember predict` writes.

The file is safetensors; docs/formats.md describes its tensors (the parameters and, since
the optimizer state moved into it, that state) and metadata. The schema entry is read in
both of its encodings: JSON (src/model/wd_schema_json.c) and the older percent-escaped
`key=value;...` text (wd_schema_legacy.c). Encoding a row follows src/model/wd_features.c
(hashing trick, crosses, numeric transforms and buckets) and reading a file follows
wd_reader.c and wd_arff.c (CSV, TSV, Adult, Criteo, ARFF), each a port of the C code, step
for step.
"""

from __future__ import annotations

import json
import math
import struct
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .buffer import Buffer
from .context import Context
from .errors import BadData, CorruptFile
from .ops import Activation, LookupDesc, Pooling, dense_forward, embedding_lookup, sigmoid

# --- safetensors ------------------------------------------------------------------------


def read_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """The F32 tensors (read-only numpy arrays in file order) and the string metadata of a
    safetensors file. A truncated or malformed file raises CorruptFile naming the problem."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise CorruptFile(f"{path}: shorter than a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise CorruptFile(f"{path}: header of {n} bytes in a file of {len(blob)}")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except ValueError as e:
        raise CorruptFile(f"{path}: header is not JSON: {e}") from None
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = t["data_offsets"]
        count = int(np.prod(t["shape"], dtype=np.int64))
        if t["dtype"] != "F32" or end - begin != 4 * count or end > len(data) or begin < 0:
            raise CorruptFile(f"{path}: tensor '{name}' does not match its header entry")
        arr = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])
        tensors[name] = arr
    return tensors, meta


# --- schema -----------------------------------------------------------------------------

IGNORE, LABEL, NUMERIC, CATEGORICAL, MULTI = range(5)  # ember_col_kind
_KIND_NAMES = {"ignore": IGNORE, "label": LABEL, "num": NUMERIC, "cat": CATEGORICAL,
               "multi": MULTI}  # the JSON schema's kind names


@dataclass
class Column:
    name: str
    kind: int
    sep: str = ""


@dataclass
class Schema:
    """ember_schema: the columns of the data and the rule that makes the label."""

    format: str
    columns: List[Column]
    delim: str = ","
    header: bool = False
    positive: str = ""
    positive_prefix: bool = False
    label_values: List[str] = field(default_factory=list)

    @property
    def label_col(self) -> int:
        return next(i for i, c in enumerate(self.columns) if c.kind == LABEL)

    @classmethod
    def parse(cls, text: str) -> "Schema":
        """From the checkpoint's `ember.schema` entry, JSON or the older escaped text."""
        try:
            return cls._from_json(json.loads(text)) if text.lstrip().startswith("{") \
                else cls._from_text(text)
        except (KeyError, ValueError, TypeError, StopIteration) as e:
            raise CorruptFile(f"metadata 'ember.schema' is malformed: {e}") from None

    @classmethod
    def _from_text(cls, text: str) -> "Schema":
        items = dict(part.split("=", 1) for part in text.split(";") if part)
        unq = urllib.parse.unquote
        cols = []
        for c in items["cols"].split("|"):
            name, kind, sep = c.rsplit(":", 2)
            cols.append(Column(unq(name), int(kind), chr(int(sep)) if int(sep) else ""))
        labels = [unq(v) for v in items.get("labels", "").split("|") if v]
        s = cls(items["format"], cols, chr(int(items.get("delim", "44"))),
                bool(int(items.get("header", "0"))), unq(items.get("positive", "")),
                bool(int(items.get("prefix", "0"))), labels)
        s.label_col  # exactly one label column, or StopIteration
        return s

    @classmethod
    def _from_json(cls, obj: Dict[str, Any]) -> "Schema":
        """docs/formats.md: {"format", "delimiter", "header", "positive", "positive_prefix",
        "label_values", "columns": [{"name", "kind", "separator" (multi only)}]}."""
        keys = {"format", "delimiter", "header", "positive", "positive_prefix", "label_values",
                "columns"}
        if set(obj) != keys:
            raise ValueError(f"keys {sorted(obj)} are not {sorted(keys)}")
        cols = [Column(str(c["name"]), _KIND_NAMES[c["kind"]], str(c.get("separator", "")))
                for c in obj["columns"]]
        s = cls(str(obj["format"]), cols, str(obj["delimiter"]), bool(obj["header"]),
                str(obj["positive"]), bool(obj["positive_prefix"]),
                [str(v) for v in obj["label_values"]])
        s.label_col  # exactly one label column, or StopIteration
        return s


# --- hashing (src/model/wd_hash.c; never change the constants) ---------------------------

_M64 = (1 << 64) - 1


def _fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _M64
    return k ^ (k >> 33)


def hash_bytes(data: bytes, seed: int) -> int:
    h = 0xCBF29CE484222325 ^ _fmix64((seed + 0x9E3779B97F4A7C15) & _M64)
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & _M64
    return _fmix64(h ^ len(data))


def hash_combine(h: int, v: int) -> int:
    return _fmix64(h ^ ((v + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)) & _M64))


def hash_bucket(h: int, buckets: int) -> int:
    return 1 + h % (buckets - 1)


_MISSING_HASH = 0x5BD1E9955BD1E995

# --- one parsed row: tokens (None = missing) and numbers --------------------------------


@dataclass
class Row:
    tokens: List[Optional[bytes]]  # None: missing
    numbers: List[float]
    label: float = math.nan


def _split_line(schema: Schema, line: bytes, where: str) -> List[Tuple[bytes, bool]]:
    """The tokens of one line and whether each was quoted (wd_reader.c parse_line)."""
    delim = schema.delim.encode()
    quotes = schema.format in ("csv", "arff")
    space = {b" "[0], b"\t"[0]} - {delim[0]}
    p, n, out = 0, len(line), []
    if schema.format == "arff" and line[:1] == b"{":
        raise BadData(f"{where}: sparse ARFF rows are not supported")
    while True:
        if len(out) >= len(schema.columns):
            raise BadData(f"{where}: expected {len(schema.columns)} columns, found more")
        while p < n and line[p] in space:
            p += 1
        if quotes and p < n and line[p] in b"'\"":
            q, p, tok = line[p], p + 1, bytearray()
            while True:
                if p >= n:
                    raise BadData(f"{where}: unterminated quoted value")
                if line[p] == q:
                    if q == 34 and p + 1 < n and line[p + 1] == 34:
                        tok.append(34)
                        p += 2
                        continue
                    break
                if line[p] == 92 and p + 1 < n and schema.format == "arff":
                    p += 1
                tok.append(line[p])
                p += 1
            p += 1
            while p < n and line[p] in space:
                p += 1
            if p < n and line[p] != delim[0]:
                raise BadData(f"{where}: text after a closing quote")
            out.append((bytes(tok), True))
        else:
            e = line.find(delim, p)
            e = n if e < 0 else e
            tok = line[p:e]
            while tok and tok[-1] in space:
                tok = tok[:-1]
            out.append((tok, False))
            p = e
        if p < n and line[p] == delim[0]:
            p += 1
            continue
        break
    if len(out) != len(schema.columns):
        raise BadData(f"{where}: expected {len(schema.columns)} columns, found {len(out)}")
    return out


def parse_row(schema: Schema, line: bytes, where: str = "row") -> Row:
    """One data line into a Row, checked as the C reader checks it."""
    toks: List[Optional[bytes]] = []
    nums: List[float] = []
    label = math.nan
    for c, (tok, quoted) in zip(schema.columns, _split_line(schema, line, where)):
        missing = not quoted and (tok == b"" or tok == b"?")
        toks.append(None if missing else tok)
        num = 0.0
        if c.kind == NUMERIC and not missing:
            try:
                num = float(tok)
            except ValueError:
                raise BadData(f"{where}: column {c.name}: '{tok.decode(errors='replace')}' is "
                              "not a number") from None
            if not math.isfinite(num):
                raise BadData(f"{where}: column {c.name}: not a finite number")
        elif c.kind == LABEL and not missing:
            label = _label(schema, tok.decode("utf-8", "replace"), where)
        nums.append(num)
    return Row(toks, nums, label)


def _label(schema: Schema, t: str, where: str) -> float:
    def match(v: str) -> bool:
        return t.startswith(v) if schema.positive_prefix else t == v

    if schema.label_values and not any(match(v) for v in schema.label_values):
        raise BadData(f"{where}: label '{t}' is not one of the declared classes")
    if schema.positive:
        return float(match(schema.positive))
    v = float(t)
    if not 0.0 <= v <= 1.0:
        raise BadData(f"{where}: label '{t}' is not a number in [0, 1]")
    return v


def read_rows(schema: Schema, path: str) -> Iterator[Row]:
    """The data rows of a file, in order (wd_reader.c: header line, ARFF header, byte order
    mark, blank lines and ARFF comments skipped)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    start = 0
    if schema.format == "arff":
        start = next((i + 1 for i, ln in enumerate(lines)
                      if ln.strip().lower().startswith(b"@data")), None)
        if start is None:
            raise BadData(f"{path}: no @data section (not an ARFF file?)")
    elif schema.header and lines:
        start = 1
    for i in range(start, len(lines)):
        line = lines[i].rstrip(b"\r\n")
        if i == 0 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        body = line.lstrip(b" \t")
        if not body or (schema.format == "arff" and body.startswith(b"%")):
            continue
        yield parse_row(schema, line if schema.delim == "\t" else body, f"{path}:{i + 1}")


# --- the feature map (src/model/wd_features.c) --------------------------------------------


def _floats(s: str) -> List[float]:
    return [float(x) for x in s.split(",") if x != ""]


class Features:
    """How rows become model inputs: deep ids per categorical field, numeric features, global
    wide ids. Built from the checkpoint's metadata."""

    def __init__(self, meta: Dict[str, str]) -> None:
        self.schema = Schema.parse(meta["ember.schema"])
        cols = self.schema.columns
        self.deep_col = [i for i, c in enumerate(cols) if c.kind in (CATEGORICAL, MULTI)]
        self.num_col = [i for i, c in enumerate(cols) if c.kind == NUMERIC]
        cat = int(meta["ember.cat_buckets"])
        fb = meta.get("ember.field_buckets")
        self.field_buckets = [int(x) for x in _floats(fb)] if fb else [cat] * len(self.deep_col)
        self.cross_buckets = int(meta["ember.cross_buckets"])
        self.num_bins = int(meta["ember.num_bins"])
        self.numeric_mode = meta["ember.numeric_mode"].lower()
        names = {c.name: i for i, c in enumerate(cols)}
        crosses = meta["ember.crosses"]
        self.crosses = [[names[n] for n in cr.split("*")] for cr in crosses.split(",")
                        if cr and crosses != "none"]
        self.mean = _floats(meta["ember.num_mean"])
        self.std = _floats(meta["ember.num_std"])
        bounds = meta["ember.num_bounds"]
        self.bounds = [_floats(b) for b in bounds.split(";")] if self.num_col else []
        if len(self.bounds) < len(self.num_col):
            self.bounds += [[]] * (len(self.num_col) - len(self.bounds))
        if len(self.field_buckets) != len(self.deep_col) or len(self.mean) != len(self.num_col):
            raise CorruptFile("checkpoint metadata does not match its schema")
        wide = list(self.field_buckets)
        if self.num_bins > 0:
            wide += [self.num_bins + 1] * len(self.num_col)
        wide += [self.cross_buckets] * len(self.crosses)
        self.wide_buckets = wide
        self.wide_offset = list(np.cumsum([0] + wide[:-1])) if wide else []
        self.d_wide = int(sum(wide))

    def _numeric_bin(self, f: int, row: Row) -> int:
        c = self.num_col[f]
        if row.tokens[c] is None:
            return 0
        return 1 + int(np.searchsorted(self.bounds[f], row.numbers[c], side="right"))

    def _pre_std(self, x: float) -> float:
        return math.log1p(max(x, 0.0)) if self.numeric_mode in ("logstd", "log") else x

    def encode(self, rows: Sequence[Row]) -> Dict[str, Any]:
        """A batch: per deep field (ids, offsets or None), numeric [n x n_num] float32, wide
        ids and offsets (all int64 numpy arrays)."""
        n = len(rows)
        deep = []
        wide_rows: List[List[int]] = [[] for _ in range(n)]
        for f, c in enumerate(self.deep_col):
            col = self.schema.columns[c]
            buckets, off = self.field_buckets[f], int(self.wide_offset[f])
            ids: List[int] = []
            offs = [0]
            for i, row in enumerate(rows):
                tok = row.tokens[c]
                if col.kind == CATEGORICAL:
                    fid = 0 if tok is None else hash_bucket(hash_bytes(tok, c), buckets)
                    got = [fid]
                else:
                    parts = [] if tok is None else [p.strip(b" \t")
                                                    for p in tok.split(col.sep.encode())]
                    got = [hash_bucket(hash_bytes(p, c), buckets) for p in parts if p] or [0]
                ids += got
                offs.append(len(ids))
                wide_rows[i] += [off + g for g in got]
            deep.append((np.array(ids, np.int64),
                         np.array(offs, np.int64) if col.kind == MULTI else None))
        num = np.zeros((n, len(self.num_col)), np.float32)
        for i, row in enumerate(rows):
            for f, c in enumerate(self.num_col):
                if row.tokens[c] is None:
                    continue
                v = self._pre_std(row.numbers[c])
                if self.numeric_mode in ("logstd", "std"):
                    v = (v - self.mean[f]) / self.std[f]
                num[i, f] = v
        wf = len(self.deep_col)
        if self.num_bins > 0:
            for f in range(len(self.num_col)):
                off = int(self.wide_offset[wf])
                for i, row in enumerate(rows):
                    wide_rows[i].append(off + self._numeric_bin(f, row))
                wf += 1
        for k, cols in enumerate(self.crosses):
            off = int(self.wide_offset[wf])
            for i, row in enumerate(rows):
                h = 0x243F6A8885A308D3 + k
                for c in cols:
                    if row.tokens[c] is None:
                        v = _MISSING_HASH
                    elif self.schema.columns[c].kind == NUMERIC:
                        v = hash_combine(c, self._numeric_bin(self.num_col.index(c), row))
                    else:
                        v = hash_bytes(row.tokens[c], c)
                    h = hash_combine(h, v)
                wide_rows[i].append(off + hash_bucket(h, self.cross_buckets))
            wf += 1
        wide_offs = np.cumsum([0] + [len(w) for w in wide_rows]).astype(np.int64)
        wide_ids = np.array([w for ws in wide_rows for w in ws], np.int64)
        return {"deep": deep, "num": num, "wide_ids": wide_ids, "wide_offs": wide_offs}


# --- the model -----------------------------------------------------------------------------


class Model:
    """A Wide&Deep checkpoint: `tensors` (the parameters, name -> read-only float32 numpy
    array), `optimizer_state` (Adagrad sums, Adam moments, by PARAM.SLOT; empty in files
    written without it), `metadata` (the strings), `features` (the encoding), and scoring."""

    def __init__(self, path: str) -> None:
        self.path = path
        tensors, self.metadata = read_safetensors(path)
        kind = self.metadata.get("ember.model")
        if kind != "widedeep-1":
            raise CorruptFile(f"{path}: not an ember Wide&Deep checkpoint (ember.model = "
                              f"{kind!r})")
        self.features = Features(self.metadata)
        self.emb_dim = int(self.metadata["ember.emb_dim"])
        self.hidden = [int(x) for x in _floats(self.metadata["ember.hidden"])]
        names = ["wide.weight"] + ["deep.emb." + self.schema.columns[c].name
                                   for c in self.features.deep_col]
        names += [n for pair in self._layers() for n in pair]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise CorruptFile(f"{path}: tensor '{missing[0]}' is missing")
        # the parameters, then (checkpoints since the state moved into them) the optimizer
        # state, PARAM.SLOT with PyTorch's slot names (docs/formats.md)
        self.tensors = {n: tensors[n] for n in names}
        self.optimizer_state = {n: t for n, t in tensors.items() if n not in self.tensors}
        self._ctx: Optional[Context] = None
        self._bufs: Dict[str, Buffer] = {}

    @property
    def schema(self) -> Schema:
        return self.features.schema

    def state_dict(self) -> Dict[str, Any]:
        """The tensors as torch tensors (copies), by checkpoint name."""
        import torch

        return {k: torch.from_numpy(np.array(v)) for k, v in self.tensors.items()}

    def _layers(self) -> List[Tuple[str, str]]:
        fc = [(f"deep.fc{i}.weight", f"deep.fc{i}.bias") for i in range(len(self.hidden))]
        return fc + [("out.weight", "out.bias")]

    def _ensure_context(self, ctx: Optional[Context]) -> Context:
        if ctx is not None and ctx is not self._ctx:
            self._ctx, self._bufs = ctx, {}
        if self._ctx is None:
            self._ctx, self._bufs = Context("cpu"), {}
        if not self._bufs:
            self._bufs = {k: Buffer.from_numpy(self._ctx, v) for k, v in self.tensors.items()}
        return self._ctx

    def predict_rows(self, rows: Sequence[Row], ctx: Optional[Context] = None) -> np.ndarray:
        """P(y = 1) of parsed rows, computed with ember's ops in the order `ember predict`
        runs them (src/model/wd_model.c forward)."""
        ctx = self._ensure_context(ctx)
        n = len(rows)
        if n == 0:
            return np.zeros(0, np.float32)
        fx, dim, B = self.features, self.emb_dim, self._bufs
        batch = fx.encode(rows)
        n0 = len(fx.deep_col) * dim + len(fx.num_col)
        x0 = np.zeros((n, n0), np.float32)
        x0[:, len(fx.deep_col) * dim:] = batch["num"]
        a = Buffer.from_numpy(ctx, x0)
        for f, (ids, offs) in enumerate(batch["deep"]):
            name = "deep.emb." + fx.schema.columns[fx.deep_col[f]].name
            d = LookupDesc(fx.field_buckets[f], dim, len(ids), n,
                           Pooling.MEAN if offs is not None else Pooling.NONE,
                           out_row_stride=n0, out_col_offset=f * dim)
            embedding_lookup(ctx, d, B[name], Buffer.from_numpy(ctx, ids),
                             None if offs is None else Buffer.from_numpy(ctx, offs), None, a)
        layers = self._layers()
        for i, (w, b) in enumerate(layers):
            out_f, in_f = self.tensors[w].shape
            y = Buffer.empty(ctx, (n, out_f))
            dense_forward(ctx, n, in_f, out_f, a, B[w], B[b],
                          Activation.RELU if i < len(layers) - 1 else Activation.NONE, y)
            a = y
        wd = LookupDesc(fx.d_wide, 1, len(batch["wide_ids"]), n, Pooling.SUM, out_row_stride=1,
                        accumulate=True)
        embedding_lookup(ctx, wd, B["wide.weight"], Buffer.from_numpy(ctx, batch["wide_ids"]),
                         Buffer.from_numpy(ctx, batch["wide_offs"]), None, a)
        probs = Buffer.empty(ctx, n)
        sigmoid(ctx, n, a, probs)
        return probs.to_numpy()

    def predict(self, rows: Iterable[Sequence[Optional[str]]],
                ctx: Optional[Context] = None) -> np.ndarray:
        """P(y = 1) of rows given as one string per schema column (None, '' or '?' for a
        missing value; the label column may hold anything, it is not used)."""
        parsed = []
        for k, r in enumerate(rows):
            if len(r) != len(self.schema.columns):
                raise BadData(f"row {k}: {len(r)} values for {len(self.schema.columns)} columns")
            toks = []
            nums = []
            for c, v in zip(self.schema.columns, r):
                s = None if v is None or v in ("", "?") else str(v)
                toks.append(None if s is None else s.encode())
                nums.append(float(s) if c.kind == NUMERIC and s is not None else 0.0)
            parsed.append(Row(toks, nums))
        return self.predict_rows(parsed, ctx)

    def predict_file(self, path: str, batch: int = 1024,
                     ctx: Optional[Context] = None) -> np.ndarray:
        """P(y = 1) of every data line of a file in the model's format, as `ember predict
        --model M --data FILE` writes them (there printed with 6 decimals)."""
        out, pending = [], []
        for row in read_rows(self.schema, path):
            pending.append(row)
            if len(pending) == batch:
                out.append(self.predict_rows(pending, ctx))
                pending = []
        if pending:
            out.append(self.predict_rows(pending, ctx))
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def load_model(path: str) -> Model:
    """Reads a checkpoint written by `ember train --save PATH`."""
    return Model(path)
