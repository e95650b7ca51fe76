#!/usr/bin/env python3
"""kafka_gen.py — turns the .kps files in proto/schema/kafka/ into proto/kafka_msgs.{h,c}.

The .kps format is described in proto/schema/kafka/README.md. For every message (request,
response) and every nested struct the generator writes a C struct whose members keep Kafka's
field names, and a kp_schema_t field table that the generic codec (proto/kafka_codec.c) walks.
It also writes kp_api_table[], one row per API in key order.

    kafka_gen.py           rewrite the generated files
    kafka_gen.py --check   exit 1 (and say which) if the committed files differ from the schemas

Only the Python standard library is used; the build itself never runs this script.
"""
import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCHEMA_DIR = os.path.join(TOP, "proto", "schema", "kafka")
OUT_H = os.path.join(TOP, "proto", "kafka_msgs.h")
OUT_C = os.path.join(TOP, "proto", "kafka_msgs.c")

VMAX = 127

PRIM = {
    "bool": ("KP_BOOL", "bool"),
    "int8": ("KP_INT8", "int8_t"),
    "int16": ("KP_INT16", "int16_t"),
    "uint16": ("KP_UINT16", "uint16_t"),
    "int32": ("KP_INT32", "int32_t"),
    "int64": ("KP_INT64", "int64_t"),
    "float64": ("KP_FLOAT64", "double"),
    "uuid": ("KP_UUID", "kp_uuid_t"),
    "string": ("KP_STRING", "kp_str_t"),
    "bytes": ("KP_BYTES", "kp_bytes_t"),
    "records": ("KP_RECORDS", "kp_bytes_t"),
}
ARRAY_PRIM = {"int8", "int16", "int32", "int64", "string", "uuid"}
SLICE_TYPES = {"string", "bytes", "records"}


class SchemaError(Exception):
    pass


def parse_versions(text, where):
    if text == "none":
        return (1, 0)
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise SchemaError(f"{where}: empty version range {text}")
        return (lo, hi)
    m = re.fullmatch(r"\d+", text)
    if m:
        return (int(text), int(text))
    raise SchemaError(f"{where}: bad versions '{text}'")


def vtext(r):
    lo, hi = r
    if lo > hi:
        return "never"
    if hi == VMAX:
        return f"v{lo}+"
    if lo == hi:
        return f"v{lo}"
    return f"v{lo}-{hi}"


class Field:
    def __init__(self, name, ftype, versions, attrs, where):
        self.name = name
        self.ftype = ftype
        self.versions = versions
        self.where = where
        self.children = []        # nested fields (struct / array of struct defined inline)
        self.struct = None        # resolved Struct for struct-typed fields
        self.nullable = (1, 0)
        self.default = None
        self.tag = None
        self.tagged = None
        for k, v in attrs.items():
            if k == "null":
                self.nullable = parse_versions(v, where)
            elif k == "default":
                self.default = v
            elif k == "tag":
                self.tag = int(v)
            elif k == "tagged":
                self.tagged = parse_versions(v, where)
            else:
                raise SchemaError(f"{where}: unknown attribute {k}")

    @property
    def is_array(self):
        return self.ftype.startswith("[]")

    @property
    def base(self):
        return self.ftype[2:] if self.is_array else self.ftype


class Struct:
    def __init__(self, cname, kname, fields):
        self.cname = cname    # C type name
        self.kname = kname    # Kafka's name (for messages and dumps)
        self.fields = fields


class Api:
    def __init__(self, key, name, versions, flex, path):
        self.key = key
        self.name = name
        self.versions = versions
        self.flex = flex
        self.path = path
        self.blocks = {}      # "request" / "response" / struct name -> list of Field
        self.structs = []     # in definition order (inner first)


def parse_file(path):
    api = None
    block = None
    stack = []   # (indent, Field)
    with open(path) as fp:
        for lineno, raw in enumerate(fp, 1):
            where = f"{os.path.basename(path)}:{lineno}"
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" in line:
                raise SchemaError(f"{where}: tabs are not allowed")
            indent = len(line) - len(line.lstrip(" "))
            words = line.split()
            if indent == 0:
                if words[0] == "api":
                    if api or len(words) != 7 or words[3] != "versions" or words[5] != "flex":
                        raise SchemaError(f"{where}: expected 'api <key> <Name> versions a-b flex n+|none'")
                    flex = None if words[6] == "none" else parse_versions(words[6], where)[0]
                    api = Api(int(words[1]), words[2], parse_versions(words[4], where), flex, path)
                elif words[0] in ("request", "response") and len(words) == 1:
                    block = words[0]
                elif words[0] == "struct" and len(words) == 2:
                    block = words[1]
                else:
                    raise SchemaError(f"{where}: unexpected '{line.strip()}'")
                if api is None:
                    raise SchemaError(f"{where}: the file must start with an api line")
                if block is not None:
                    if block in api.blocks:
                        raise SchemaError(f"{where}: {block} defined twice")
                    api.blocks[block] = []
                stack = []
                continue
            if block is None or indent % 2:
                raise SchemaError(f"{where}: field outside a block or odd indentation")
            if len(words) < 3:
                raise SchemaError(f"{where}: expected '<Field> <type> <versions> ...'")
            attrs = {}
            for w in words[3:]:
                if "=" not in w:
                    raise SchemaError(f"{where}: bad attribute '{w}'")
                k, v = w.split("=", 1)
                attrs[k] = v
            f = Field(words[0], words[1], parse_versions(words[2], where), attrs, where)
            level = indent // 2
            while stack and stack[-1][0] >= level:
                stack.pop()
            if level == 1:
                api.blocks[block].append(f)
            else:
                if not stack or stack[-1][0] != level - 1:
                    raise SchemaError(f"{where}: indentation does not match a parent field")
                parent = stack[-1][1]
                if parent.base in PRIM or parent.base in ARRAY_PRIM:
                    raise SchemaError(f"{where}: {parent.name} is not a struct")
                parent.children.append(f)
            stack.append((level, f))
    if api is None:
        raise SchemaError(f"{path}: no api line")
    for b in ("request", "response"):
        if b not in api.blocks:
            raise SchemaError(f"{path}: no {b} block")
    return api


def check_field(api, f):
    """Validates a field against the versions of its container."""
    lo, hi = f.versions
    if f.is_array:
        if f.base in PRIM and f.base not in ARRAY_PRIM:
            raise SchemaError(f"{f.where}: arrays of {f.base} are not supported")
    elif f.base not in PRIM and not f.children and f.base not in api.blocks:
        raise SchemaError(f"{f.where}: unknown type {f.ftype}")
    nullable_types = SLICE_TYPES
    if f.nullable[0] <= f.nullable[1] and not (f.is_array or f.base in nullable_types):
        raise SchemaError(f"{f.where}: only strings, bytes, records and arrays can be null")
    if f.default is not None:
        d = f.default
        if d == "null":
            if not (f.is_array or f.base in SLICE_TYPES):
                raise SchemaError(f"{f.where}: default=null on a non-nullable type")
            n_lo, n_hi = f.nullable
            if max(n_lo, lo) > min(n_hi, hi):
                raise SchemaError(f"{f.where}: default=null but never nullable")
        elif f.base == "bool" and not f.is_array:
            if d not in ("true", "false"):
                raise SchemaError(f"{f.where}: bool default must be true or false")
        elif f.base in ("int8", "int16", "uint16", "int32", "int64") and not f.is_array:
            int(d, 0)
        else:
            raise SchemaError(f"{f.where}: unsupported default '{d}'")
    if f.tag is not None:
        if api.flex is None:
            raise SchemaError(f"{f.where}: a tagged field in an API without flexible versions")
        if f.tagged is None:
            f.tagged = (max(f.versions[0], api.flex), VMAX)
        if f.tagged[1] != VMAX or f.tagged[0] < api.flex:
            raise SchemaError(f"{f.where}: tagged versions must be open-ended and flexible")


def c_member_type(f):
    if f.is_array:
        b = f.base
        elem = PRIM[b][1] if b in PRIM else f.struct.cname
        return f"KP_ARRAY_OF({elem})"
    if f.base in PRIM:
        return PRIM[f.base][1]
    return f.struct.cname


def resolve(api, msg_cname, fields, out_structs, common):
    """Creates Struct objects for inline nested structs (inner first) and links references."""
    for f in fields:
        check_field(api, f)
        if f.base in PRIM:
            if f.children:
                raise SchemaError(f"{f.where}: a primitive field cannot have nested fields")
            continue
        if f.children:
            cname = f"kp_{msg_cname}_{f.base}"
            resolve(api, msg_cname, f.children, out_structs, common)
            st = Struct(cname, f.base, f.children)
            out_structs.append(st)
            f.struct = st
        else:
            if f.base not in common:
                raise SchemaError(f"{f.where}: struct {f.base} is not defined in this file")
            f.struct = common[f.base]


def build(apis):
    seen_names = {}
    for api in apis:
        common = {}
        for bname, fields in api.blocks.items():
            if bname in ("request", "response"):
                continue
            structs = []
            resolve(api, bname, fields, structs, common)
            st = Struct(f"kp_{bname}", bname, fields)
            api.structs.extend(structs)
            api.structs.append(st)
            common[bname] = st
        for kind in ("request", "response"):
            msg = api.name + kind.capitalize()
            structs = []
            resolve(api, msg, api.blocks[kind], structs, common)
            st = Struct(f"kp_{msg}", msg, api.blocks[kind])
            api.structs.extend(structs)
            api.structs.append(st)
            setattr(api, kind, st)
        for st in api.structs:
            if st.cname in seen_names:
                raise SchemaError(f"{api.path}: C name {st.cname} also made by {seen_names[st.cname]}")
            seen_names[st.cname] = api.path
            names = [f.name for f in st.fields]
            if len(set(names)) != len(names):
                raise SchemaError(f"{api.path}: duplicate field in {st.kname}")
            tags = [f.tag for f in st.fields if f.tag is not None]
            if len(set(tags)) != len(tags):
                raise SchemaError(f"{api.path}: duplicate tag in {st.kname}")


def snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


HEADER_NOTE = "GENERATED by proto/schema/kafka_gen.py from proto/schema/kafka/ — do not edit."


def gen_h(apis):
    o = []
    o.append("/* kafka_msgs.h — every Kafka message Gregor speaks, as C structs.")
    o.append(f" * {HEADER_NOTE}")
    o.append(" *")
    o.append(" * Members keep Kafka's field names; the comment after each says in which versions it is on")
    o.append(" * the wire (a field outside them keeps its default) and when it may be null. Strings and")
    o.append(" * bytes are slices (len -1 = null), arrays are {n, v} (n -1 = null); both point into the")
    o.append(" * request buffer or the request arena, see kafka_codec.h. */")
    o.append("#ifndef GREGOR_PROTO_KAFKA_MSGS_H")
    o.append("#define GREGOR_PROTO_KAFKA_MSGS_H")
    o.append("")
    o.append('#include "proto/kafka_codec.h"')
    o.append("")
    o.append("/* API keys. */")
    o.append("enum kp_api_key {")
    for api in apis:
        o.append(f"    KP_{snake(api.name)} = {api.key},")
    o.append("};")
    for api in apis:
        flex = "not flexible" if api.flex is None else f"flexible from v{api.flex}"
        o.append("")
        o.append(f"/* ---- {api.name} (key {api.key}, {vtext(api.versions)}, {flex}) ---- */")
        for st in api.structs:
            o.append("")
            o.append(f"typedef struct {st.cname}_s {{")
            for f in st.fields:
                note = vtext(f.versions)
                if f.nullable[0] <= f.nullable[1]:
                    nl = (max(f.nullable[0], f.versions[0]), min(f.nullable[1], f.versions[1]))
                    if nl[0] <= nl[1]:
                        note += f", null {vtext(nl)}"
                if f.tag is not None:
                    note += f", tag {f.tag} from {vtext(f.tagged)}"
                if f.default is not None:
                    note += f", default {f.default}"
                o.append(f"    {c_member_type(f)} {f.name}; /* {note} */")
            if not st.fields:
                o.append("    char unused_; /* no fields */")
            o.append(f"}} {st.cname};")
        o.append("")
        for st in api.structs:
            o.append(f"extern const kp_schema_t {st.cname}_schema;")
    o.append("")
    o.append("/* One row per API, in key order. */")
    o.append("extern const kp_api_t kp_api_table[];")
    o.append(f"#define KP_API_COUNT {len(apis)}")
    o.append("")
    o.append("#endif")
    return "\n".join(o) + "\n"


def default_expr(f):
    d = f.default
    if d is None:
        return "0"
    if d == "null":
        return "KP_DEFAULT_NULL"
    if d == "true":
        return "1"
    if d == "false":
        return "0"
    v = int(d, 0)
    if v == -(1 << 63):
        return "INT64_MIN"
    return f"{v}LL" if abs(v) > 0x7fffffff else str(v)


def gen_c(apis):
    o = []
    o.append("/* kafka_msgs.c — field tables of every Kafka message.")
    o.append(f" * {HEADER_NOTE} */")
    o.append('#include "proto/kafka_msgs.h"')
    o.append("")
    o.append("#include <stddef.h>")
    o.append("#include <stdint.h>")
    for api in apis:
        o.append("")
        o.append(f"/* ---- {api.name} ---- */")
        for st in api.structs:
            if st.fields:
                o.append(f"static const kp_field_t {st.cname}_fields[] = {{")
                for f in st.fields:
                    if f.is_array:
                        typ = "KP_ARRAY"
                        elem = PRIM[f.base][0] if f.base in PRIM else "KP_STRUCT"
                    elif f.base in PRIM:
                        typ, elem = PRIM[f.base][0], "0"
                    else:
                        typ, elem = "KP_STRUCT", "0"
                    lo, hi = f.versions
                    nlo, nhi = f.nullable
                    nlo, nhi = max(nlo, lo), min(nhi, hi)
                    if nlo > nhi:
                        nlo, nhi = 1, 0
                    tag = f.tag if f.tag is not None else -1
                    tagv = f.tagged[0] if f.tag is not None else -1
                    sub = f"&{f.struct.cname}_schema" if f.struct else "NULL"
                    o.append(f'    {{"{f.name}", offsetof({st.cname}, {f.name}), {typ}, {elem}, '
                             f"{lo}, {hi}, {nlo}, {nhi}, {tagv}, {tag}, {default_expr(f)}, {sub}}},")
                o.append("};")
                fields = f"{st.cname}_fields"
            else:
                fields = "NULL"
            o.append(f'const kp_schema_t {st.cname}_schema = {{"{st.kname}", sizeof({st.cname}), '
                     f"{len(st.fields)}, {fields}}};")
    o.append("")
    o.append("const kp_api_t kp_api_table[] = {")
    for api in apis:
        flex = -1 if api.flex is None else api.flex
        o.append(f'    {{{api.key}, "{api.name}", {api.versions[0]}, {api.versions[1]}, {flex}, '
                 f"&kp_{api.name}Request_schema, &kp_{api.name}Response_schema}},")
    o.append("};")
    return "\n".join(o) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    files = sorted(f for f in os.listdir(SCHEMA_DIR) if f.endswith(".kps"))
    try:
        apis = [parse_file(os.path.join(SCHEMA_DIR, f)) for f in files]
        apis.sort(key=lambda a: a.key)
        keys = [a.key for a in apis]
        if len(set(keys)) != len(keys):
            raise SchemaError("two schema files use the same api key")
        build(apis)
    except SchemaError as e:
        print(f"kafka_gen: {e}", file=sys.stderr)
        return 2
    outputs = {OUT_H: gen_h(apis), OUT_C: gen_c(apis)}
    stale = []
    for path, text in outputs.items():
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(os.path.relpath(path, TOP))
            if not check:
                with open(path, "w") as fp:
                    fp.write(text)
    if check and stale:
        print("kafka_gen: stale, run python3 proto/schema/kafka_gen.py: " + " ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
