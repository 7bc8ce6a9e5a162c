#!/usr/bin/env python3
"""Turn Kubernetes OpenAPI definitions and CRD schemas into JSON schemas for kubeconform.

Two sub-commands:

  k8s  Read the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json of the
       k8s.io/kubernetes module) and write one stand-alone, strict JSON schema per
       requested kind, named the way kubeconform's
       '{{ .ResourceKind }}{{ .KindSuffix }}.json' template expects
       (deployment-apps-v1.json, service-v1.json, networkpolicy-networking-v1.json).

  crd  Read CustomResourceDefinition YAML files and write one strict JSON schema per
       served version, as <out>/<group>/<kind>_<version>.json, the layout of the
       '{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json' template.
       With --k8s-spec, metadata is validated against the real ObjectMeta schema.

What the generated schemas do (JSON Schema draft-04, which kubeconform compiles by default):

  * stand-alone: every "$ref" is inlined, so a file needs nothing else;
  * strict: an object that declares "properties" gets "additionalProperties": false,
    unless it says x-kubernetes-preserve-unknown-fields or sets additionalProperties
    itself; schemas inside allOf/anyOf/oneOf/not are left open, since there they only
    restate constraints on properties declared by the enclosing object;
  * int-or-string ("format": "int-or-string", or x-kubernetes-int-or-string) becomes
    oneOf string/integer; resource.Quantity accepts a string or a number, as the API
    server does;
  * every object field (and map value) below the top level also accepts null: the API
    server drops a null field (core types decode it as unset; for custom resources,
    nulls of non-nullable fields are pruned), so Helm output such as "args:" with
    nothing after it stays valid; array elements do not accept null;
  * apiVersion and kind are pinned with "enum" to the single value the file is for;
  * descriptions and x-kubernetes-* extensions are dropped to keep the files small
    (--keep-descriptions keeps the descriptions).

Needs Python 3.8+ and, for the crd sub-command, PyYAML.
"""

import argparse
import copy
import json
import os
import sys

DRAFT4 = "http://json-schema.org/draft-04/schema#"

# Keywords whose value is a schema, a list of schemas or a map of schemas. Everything
# else (enum, default, example, required, ...) is data and copied verbatim.
SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "definitions")
SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf")
JUNCTOR_KEYWORDS = SCHEMA_LIST_KEYWORDS + ("not",)

# Definitions of the Kubernetes spec that get a hand-written schema instead of the
# one in the document, because the document under-describes what the API accepts.
INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
SPECIAL_DEFINITIONS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INT_OR_STRING,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY,
}

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


class ConversionError(Exception):
    pass


class Converter:
    """Rewrites one OpenAPI/CRD schema tree into a stand-alone strict JSON schema."""

    def __init__(self, definitions=None, keep_descriptions=False):
        self.definitions = definitions or {}
        self.keep_descriptions = keep_descriptions
        self.warnings = []

    def resolve_ref(self, ref, stack):
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise ConversionError("unsupported $ref %r (only %s... is handled)" % (ref, prefix))
        name = ref[len(prefix):]
        if name in SPECIAL_DEFINITIONS:
            return copy.deepcopy(SPECIAL_DEFINITIONS[name]), name
        if name not in self.definitions:
            raise ConversionError("$ref to unknown definition %r" % name)
        if name in stack:
            # A recursive type cannot be inlined; accept anything at the point of recursion.
            self.warnings.append("recursive $ref to %s left open at depth %d" % (name, len(stack)))
            return None, name
        return self.definitions[name], name

    def convert(self, node, stack=(), in_junctor=False, nullable=True):
        """Returns the converted copy of ``node``.

        ``stack``: names of the definitions being inlined (to stop on recursion).
        ``in_junctor``: node is a branch of allOf/anyOf/oneOf/not (no strictness, no null).
        ``nullable``: whether null is accepted here: not for the whole resource, nor for
        an array element (the API server does not drop a null list item).
        """
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            raise ConversionError("schema node is not an object: %r" % (node,))

        if "$ref" in node:
            target, name = self.resolve_ref(node["$ref"], stack)
            if target is None:
                return {}
            if name in SPECIAL_DEFINITIONS:
                return self.finish(target, {}, in_junctor, nullable)
            return self.convert(target, stack + (name,), in_junctor, nullable)

        out = {}
        for key, value in node.items():
            if key == "description":
                if self.keep_descriptions:
                    out[key] = value
            elif key.startswith("x-") or key in ("nullable", "$schema", "id", "$id"):
                continue  # interpreted in finish() or not meaningful to the validator
            elif key in SCHEMA_MAP_KEYWORDS:
                out[key] = {name: self.convert(sub, stack) for name, sub in value.items()}
            elif key in SCHEMA_LIST_KEYWORDS:
                out[key] = [self.convert(sub, stack, in_junctor=True) for sub in value]
            elif key == "not":
                out[key] = self.convert(value, stack, in_junctor=True)
            elif key == "items":
                if isinstance(value, list):
                    out[key] = [self.convert(sub, stack, nullable=False) for sub in value]
                else:
                    out[key] = self.convert(value, stack, nullable=False)
            elif key == "additionalProperties":
                out[key] = self.convert(value, stack) if isinstance(value, dict) else value
            else:
                out[key] = copy.deepcopy(value)
        return self.finish(out, node, in_junctor, nullable)

    def finish(self, out, source, in_junctor, nullable):
        """Applies int-or-string, strictness and nullability to a converted node."""
        int_or_string = (source.get("format") == "int-or-string"
                         or source.get("x-kubernetes-int-or-string") is True)
        if int_or_string:
            # The CRD form carries its own anyOf [integer, string]; the OpenAPI form is a
            # string with a format. Both become one shape.
            for key in ("type", "format", "anyOf", "oneOf"):
                out.pop(key, None)
            out["oneOf"] = copy.deepcopy(INT_OR_STRING["oneOf"])

        preserve_unknown = source.get("x-kubernetes-preserve-unknown-fields") is True
        if ("properties" in out and "additionalProperties" not in out
                and not preserve_unknown and not in_junctor):
            out["additionalProperties"] = False

        if nullable and not in_junctor:
            self.make_nullable(out)
        return out

    @staticmethod
    def make_nullable(out):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            if "null" not in kind:
                out["type"] = kind + ["null"]
        elif kind is None:
            # Only the type-alternatives shape (int-or-string, quantity) is widened; a
            # typeless node without alternatives already accepts null.
            for key in ("oneOf", "anyOf"):
                branches = out.get(key)
                if branches and all(set(b) == {"type"} for b in branches):
                    if {"type": "null"} not in branches:
                        branches.append({"type": "null"})
            return
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]


def pin_identity(schema, api_version, kind):
    """Makes sure apiVersion and kind are declared, and allow only this resource's values."""
    props = schema.setdefault("properties", {})
    schema.setdefault("type", "object")
    for field, value in (("apiVersion", api_version), ("kind", kind)):
        props[field] = {"type": "string", "enum": [value]}
    required = schema.setdefault("required", [])
    for field in ("apiVersion", "kind"):
        if field not in required:
            required.append(field)
    if "additionalProperties" not in schema:
        schema["additionalProperties"] = False


def suffix_for(group, version):
    """The {{ .KindSuffix }} kubeconform derives from an apiVersion (pkg/registry)."""
    if group:
        return "-%s-%s" % (group.split(".")[0].lower(), version.lower())
    return "-%s" % version.lower()


def parse_kind(spec):
    """'apps/v1/Deployment' -> ('apps', 'v1', 'Deployment'); 'v1/Service' -> ('', 'v1', 'Service')."""
    parts = spec.strip().split("/")
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise ConversionError("kind %r is not GROUP/VERSION/KIND (or VERSION/KIND for the core group)" % spec)


def write_json(path, schema):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(schema, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def load_swagger(path):
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    definitions = doc.get("definitions")
    if not isinstance(definitions, dict):
        raise ConversionError("%s has no 'definitions': an OpenAPI v2 (swagger.json) document is expected" % path)
    return definitions


def gvk_index(definitions):
    index = {}
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            key = (gvk.get("group", ""), gvk["version"], gvk["kind"])
            # DeleteOptions, WatchEvent and the like claim every group; real kinds claim one.
            index.setdefault(key, []).append(name)
    return index


def cmd_k8s(args):
    definitions = load_swagger(args.spec)
    index = gvk_index(definitions)
    kinds = [k for item in args.kind for k in item.replace(",", " ").split()]
    if not kinds:
        raise ConversionError("no --kind given")
    for spec in kinds:
        group, version, kind = parse_kind(spec)
        names = index.get((group, version, kind))
        if not names:
            raise ConversionError("%s: no definition in %s declares this group/version/kind" % (spec, args.spec))
        if len(names) > 1:
            raise ConversionError("%s: several definitions declare it: %s" % (spec, ", ".join(names)))
        conv = Converter(definitions, args.keep_descriptions)
        schema = conv.convert({"$ref": "#/definitions/" + names[0]}, nullable=False)
        api_version = "%s/%s" % (group, version) if group else version
        pin_identity(schema, api_version, kind)
        schema = dict([("$schema", DRAFT4)] + list(schema.items()))
        path = os.path.join(args.out, kind.lower() + suffix_for(group, version) + ".json")
        write_json(path, schema)
        for warning in conv.warnings:
            print("warning: %s: %s" % (spec, warning), file=sys.stderr)
        print("wrote %s (%s)" % (path, names[0]))
    return 0


def crd_versions(crd):
    """Yields (version name, served, openAPIV3Schema) for apiextensions v1 and v1beta1 CRDs."""
    spec = crd.get("spec", {})
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")
    versions = spec.get("versions") or [{"name": spec.get("version"), "served": True}]
    for v in versions:
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or shared
        yield v["name"], v.get("served", True), schema


def cmd_crd(args):
    try:
        import yaml  # PyYAML
    except ImportError:
        raise ConversionError("the crd sub-command needs PyYAML (pip install pyyaml)")

    object_meta = None
    if args.k8s_spec:
        definitions = load_swagger(args.k8s_spec)
        if OBJECT_META not in definitions:
            raise ConversionError("%s has no %s" % (args.k8s_spec, OBJECT_META))
        object_meta = Converter(definitions, args.keep_descriptions).convert(
            {"$ref": "#/definitions/" + OBJECT_META})

    wanted = set(v for item in args.version for v in item.replace(",", " ").split())
    written = 0
    for path in args.files:
        with open(path, encoding="utf-8") as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d]
        crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        if not crds:
            raise ConversionError("%s holds no CustomResourceDefinition" % path)
        for crd in crds:
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version, served, source in crd_versions(crd):
                if wanted and version not in wanted:
                    continue
                if not served and not args.include_unserved:
                    continue
                if not source:
                    raise ConversionError("%s %s/%s has no openAPIV3Schema" % (path, group, version))
                conv = Converter(keep_descriptions=args.keep_descriptions)
                schema = conv.convert(source, nullable=False)
                if object_meta is not None:
                    props = schema.setdefault("properties", {})
                    # Whatever the CRD itself says about metadata (some restrict the name)
                    # is kept beside ObjectMeta, without its own strictness.
                    declared = props.get("metadata") or {}
                    extra = {k: v for k, v in declared.items()
                             if k not in ("type", "description", "additionalProperties")}
                    meta = copy.deepcopy(object_meta)
                    props["metadata"] = {"allOf": [meta, extra]} if extra else meta
                pin_identity(schema, "%s/%s" % (group, version), kind)
                schema = dict([("$schema", DRAFT4)] + list(schema.items()))
                out = os.path.join(args.out, group, "%s_%s.json" % (kind.lower(), version))
                write_json(out, schema)
                written += 1
                print("wrote %s (%s)" % (out, path))
    if wanted and not written:
        raise ConversionError("no version among %s found in %s" % (sorted(wanted), ", ".join(args.files)))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    k8s = sub.add_parser("k8s", help="per-kind schemas from the Kubernetes swagger.json")
    k8s.add_argument("--spec", required=True, help="path to api/openapi-spec/swagger.json")
    k8s.add_argument("--out", required=True, help="folder to write <kind><suffix>.json into")
    k8s.add_argument("--kind", action="append", default=[],
                     help="GROUP/VERSION/KIND, or VERSION/KIND for the core group; repeatable, "
                          "or several separated by spaces or commas")
    k8s.add_argument("--keep-descriptions", action="store_true")
    k8s.set_defaults(func=cmd_k8s)

    crd = sub.add_parser("crd", help="per-version schemas from CustomResourceDefinition YAML")
    crd.add_argument("--out", required=True, help="folder to write <group>/<kind>_<version>.json into")
    crd.add_argument("--version", action="append", default=[],
                     help="only these versions (repeatable or comma-separated; default: all served)")
    crd.add_argument("--include-unserved", action="store_true")
    crd.add_argument("--k8s-spec", help="swagger.json whose ObjectMeta validates metadata")
    crd.add_argument("--keep-descriptions", action="store_true")
    crd.add_argument("files", nargs="+", help="CRD YAML files")
    crd.set_defaults(func=cmd_crd)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConversionError as err:
        print("openapi2jsonschema: error: %s" % err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
