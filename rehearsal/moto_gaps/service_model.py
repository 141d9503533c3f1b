"""Check every boto3 request against botocore's service model, as strictly as AWS does.

moto accepts requests that AWS rejects (a SageMaker tag value with ``?``, an ``InferenceId`` with
a leading space, an enum value that does not exist), and botocore's own validation only checks
required members, types and minimum lengths. So the rehearsal and the tests check each request
against the *whole* model: required and unknown members, types, string/list/map/blob lengths,
numeric ranges, enums and patterns. The patterns are Java regexes (AWS validates with Java's
``Matcher.matches()``: the whole value must match); they are translated for the third-party
``regex`` module, and a pattern that still cannot be compiled is recorded in
:data:`UNCOMPILABLE_PATTERNS`, never skipped silently.

Use :func:`install` (or :func:`strict_requests`) so every botocore client created afterwards in
this process raises :class:`StrictRequestError` before sending a request the model forbids, and
:func:`checked_operations` to see which operations were checked.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import json
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import regex
from botocore.client import BaseClient, ClientCreator
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.utils import is_json_value_header, parse_to_aware_datetime

EVENT_NAME = "before-parameter-build"
"""botocore emits it with the caller's params (after botocore's own fix-ups), before serializing."""

_UNIQUE_ID = "rehearsal.moto_gaps.service_model.check_request"

# Java's POSIX classes (\p{Alpha} ...) are US-ASCII only, unlike the regex module's.
_POSIX_CLASSES: dict[str, str] = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
    "Graph": r"\x21-\x7E",
    "Print": r"\x20-\x7E",
    "Blank": r" \t",
    "Cntrl": r"\x00-\x1F\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0B\f\r",
    # Java-only names.
    "all": r"\x00-\U0010FFFF",
    "LD": r"\p{L}\p{Nd}",
    "javaLowerCase": r"\p{Lowercase}",
    "javaUpperCase": r"\p{Uppercase}",
    "javaLetter": r"\p{L}",
    "javaDigit": r"\p{Nd}",
    "javaLetterOrDigit": r"\p{L}\p{Nd}",
    "javaAlphabetic": r"\p{Alphabetic}",
    "javaWhitespace": (
        r"\t\n\x0B\f\r\x1C-\x20\u1680\u2000-\u2006\u2008-\u200A\u2028\u2029\u205F\u3000"
    ),
    "javaSpaceChar": r"\p{Z}",
    "javaISOControl": r"\x00-\x1F\x7F-\x9F",
}

# Java's predefined classes are ASCII (\d \w \s) or fixed sets (\h \v), unlike Python's.
_ESCAPE_CLASSES: dict[str, str] = {
    "d": "0-9",
    "w": "a-zA-Z0-9_",
    "s": r" \t\n\x0B\f\r",
    "h": r" \t\xA0\u1680\u180E\u2000-\u200A\u202F\u205F\u3000",
    "v": r"\n\x0B\f\r\x85\u2028\u2029",
}

_JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
_JAVA_END = r"(?=(?:\r\n|[\n\r\x85\u2028\u2029])?\Z)"
_JAVA_LINEBREAK = r"(?:\r\n|[\n\x0B\f\r\x85\u2028\u2029])"
_DOTALL_FLAG = regex.compile(r"\(\?[a-zA-Z]*s")
_HEX = frozenset("0123456789abcdefABCDEF")

UNCOMPILABLE_PATTERNS: dict[str, str] = {}
"""Model patterns that could not be translated or compiled (pattern -> error): not checked."""

_compiled: dict[str, Any] = {}
_checked: Counter[str] = Counter()
_lock = threading.Lock()
# Where each checked request is also written (one JSON line: operation, problems), so that the
# rehearsal can collect what its Lambda worker processes checked.
_journal: Path | None = None


class StrictRequestError(Exception):
    """A request that AWS's model forbids (moto might have accepted it)."""

    def __init__(self, operation: str, problems: list[str]) -> None:
        self.operation = operation
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{operation}: {count} problem{'s' if count != 1 else ''} against the AWS model:\n"
            f"{lines}"
        )


class _Translator:
    """Rewrites one Java regex for ``regex.V1`` (whose nested sets and ``&&`` match Java's)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.out: list[str] = []
        self.pos = 0
        self.depth = 0
        self.prev_was_set = False
        self.java_dot = not _DOTALL_FLAG.search(pattern)

    def translate(self) -> str:
        while self.pos < len(self.pattern):
            char = self.pattern[self.pos]
            if char == "\\":
                self._escape()
            elif self.depth:
                self._in_class(char)
            else:
                self._outside_class(char)
        if self.depth:
            raise ValueError("unterminated character class")
        return "".join(self.out)

    def _emit(self, text: str, *, is_set: bool = False) -> None:
        self.out.append(text)
        self.prev_was_set = is_set

    def _outside_class(self, char: str) -> None:
        self.pos += 1
        if char == "[":
            self._open_class()
        elif char == "." and self.java_dot:
            self._emit(_JAVA_DOT)
        else:
            self._emit(char)

    def _open_class(self) -> None:
        self.depth += 1
        self._emit("[")
        if self.pattern.startswith("^", self.pos):
            self.pos += 1
            self._emit("^")

    def _in_class(self, char: str) -> None:
        nxt = self.pattern[self.pos + 1 : self.pos + 2]
        self.pos += 1
        if char == "[":
            self._open_class()
        elif char == "]":
            self.depth -= 1
            self._emit("]", is_set=True)
        elif char == "&" and nxt == "&":
            self.pos += 1
            self._emit("&&")
        elif char in "|~":
            # V1 set operators (|| ~~) are plain characters in Java.
            self._emit("\\" + char)
        elif char == "-" and (self.prev_was_set or nxt == "-" or self._class_escape_next()):
            # Java reads '-' next to a class (\w-.) or before another '-' as a literal.
            self._emit(r"\-")
        else:
            self._emit(char)

    def _class_escape_next(self) -> bool:
        rest = self.pattern[self.pos : self.pos + 2]
        return len(rest) == 2 and rest[0] == "\\" and rest[1] in "dDwWsShHvVpP"

    def _set(self, body: str, negated: bool) -> None:
        self._emit(f"[{'^' if negated else ''}{body}]", is_set=True)

    def _escape(self) -> None:
        if self.pos + 1 >= len(self.pattern):
            raise ValueError("trailing backslash")
        kind = self.pattern[self.pos + 1]
        self.pos += 2
        lower = kind.lower()
        if lower in _ESCAPE_CLASSES:
            self._set(_ESCAPE_CLASSES[lower], negated=kind.isupper())
        elif kind in "pP":
            self._property(negated=kind == "P")
        elif kind == "Q":
            end = self.pattern.find("\\E", self.pos)
            end = len(self.pattern) if end < 0 else end
            self._emit(regex.escape(self.pattern[self.pos : end], special_only=False))
            self.pos = min(end + 2, len(self.pattern))
        elif kind == "E":
            self._emit("")
        elif kind == "z" and not self.depth:
            self._emit(r"\Z")
        elif kind == "Z" and not self.depth:
            self._emit(_JAVA_END)
        elif kind == "R" and not self.depth:
            self._emit(_JAVA_LINEBREAK)
        elif kind == "u":
            self._unicode_escape()
        elif kind == "x" and self.pattern.startswith("{", self.pos):
            end = self.pattern.index("}", self.pos)
            self._emit(f"\\U{int(self.pattern[self.pos + 1 : end], 16):08X}")
            self.pos = end + 1
        elif kind == "0":
            self._octal()
        elif kind == "e":
            self._emit(r"\x1B")
        elif kind == "c":
            control = self.pattern[self.pos]
            self.pos += 1
            self._emit(f"\\x{ord(control) ^ 0x40:02X}")
        else:
            self._emit("\\" + kind)

    def _property(self, *, negated: bool) -> None:
        if self.pattern.startswith("{", self.pos):
            end = self.pattern.index("}", self.pos)
            name = self.pattern[self.pos + 1 : end]
            self.pos = end + 1
        else:
            name = self.pattern[self.pos]
            self.pos += 1
        body = _POSIX_CLASSES.get(name)
        if body is None:  # a Unicode category, script, block or binary property
            self._emit(f"\\{'P' if negated else 'p'}{{{name}}}", is_set=True)
        else:
            self._set(body, negated)

    def _unicode_escape(self) -> None:
        code = self._hex(4)
        if 0xD800 <= code <= 0xDBFF and self.pattern.startswith("\\u", self.pos):
            # Java patterns are UTF-16: \uD800\uDC00 is one supplementary code point.
            self.pos += 2
            low = self._hex(4)
            if 0xDC00 <= low <= 0xDFFF:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            else:
                self._emit(f"\\u{code:04X}")
                code = low
        self._emit(f"\\U{code:08X}" if code > 0xFFFF else f"\\u{code:04X}")

    def _hex(self, count: int) -> int:
        digits = self.pattern[self.pos : self.pos + count]
        if len(digits) != count or not set(digits) <= _HEX:
            raise ValueError(f"bad \\u escape at {self.pos}")
        self.pos += count
        return int(digits, 16)

    def _octal(self) -> None:
        digits = ""
        while (
            len(digits) < 3
            and self.pattern[self.pos : self.pos + 1] in tuple("01234567")
            and int(digits + self.pattern[self.pos], 8) <= 0o377
        ):
            digits += self.pattern[self.pos]
            self.pos += 1
        if not digits:
            raise ValueError("\\0 needs an octal digit (Java)")
        self._emit(f"\\x{int(digits, 8):02X}")


def translate_pattern(pattern: str) -> str:
    """The ``regex.V1`` equivalent of an AWS model's Java pattern (raises ValueError if none)."""
    return _Translator(pattern).translate()


def compile_pattern(pattern: str) -> Any | None:
    """The compiled (cached) pattern, or None after recording it in UNCOMPILABLE_PATTERNS."""
    with _lock:
        if pattern in _compiled:
            return _compiled[pattern]
    try:
        compiled: Any | None = regex.compile(translate_pattern(pattern), regex.V1)
    except (ValueError, regex.error) as error:
        compiled = None
        with _lock:
            UNCOMPILABLE_PATTERNS[pattern] = f"{type(error).__name__}: {error}"
    with _lock:
        _compiled[pattern] = compiled
    return compiled


def input_patterns(operation_model: OperationModel) -> set[str]:
    """Every pattern reachable from the operation's input shape (to prove they all compile)."""
    patterns: set[str] = set()
    seen: set[str] = set()
    pending: list[Shape] = (
        [operation_model.input_shape] if operation_model.input_shape is not None else []
    )
    while pending:
        shape = pending.pop()
        if shape.name in seen:
            continue
        seen.add(shape.name)
        if "pattern" in shape.metadata:
            patterns.add(shape.metadata["pattern"])
        if isinstance(shape, StructureShape):
            pending.extend(shape.members.values())
        elif isinstance(shape, ListShape):
            pending.append(shape.member)
        elif isinstance(shape, MapShape):
            pending.extend((shape.key, shape.value))
    return patterns


def _show(value: Any, shape: Shape) -> str:
    if shape.metadata.get("sensitive"):
        return "<sensitive>"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _limits(
    problems: list[str], path: str, what: str, value: Any, metadata: Mapping[str, Any]
) -> None:
    minimum, maximum = metadata.get("min"), metadata.get("max")
    if minimum is not None and value < minimum:
        problems.append(f"{path}: min {what}: {value} is below {minimum}")
    if maximum is not None and value > maximum:
        problems.append(f"{path}: max {what}: {value} is above {maximum}")


_NUMBER_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "long": (int,),
    "float": (int, float, decimal.Decimal),
    "double": (int, float, decimal.Decimal),
}


class _Walker:
    """Collects every problem of one request, naming each by its member path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def wrong_type(self, path: str, value: Any, expected: str) -> None:
        self.problems.append(f"{path}: type: got {type(value).__name__}, expected {expected}")

    def check(self, value: Any, shape: Shape, path: str) -> None:
        if is_json_value_header(shape):
            try:
                json.dumps(value)
            except (TypeError, ValueError) as error:
                self.problems.append(f"{path}: type: not JSON-serializable ({error})")
            return
        kind = shape.type_name
        if isinstance(shape, StructureShape):
            if shape.is_document_type:
                self.document(value, path)
            else:
                self.structure(value, shape, path)
        elif isinstance(shape, ListShape):
            self.sequence(value, shape, path)
        elif isinstance(shape, MapShape):
            self.mapping(value, shape, path)
        elif kind == "string":
            self.string(value, shape, path)
        elif kind in _NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES[kind]):
                self.wrong_type(path, value, kind)
            else:
                _limits(self.problems, path, "value", value, shape.metadata)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.wrong_type(path, value, "boolean")
        elif kind == "timestamp":
            self.timestamp(value, path)
        elif kind == "blob":
            self.blob(value, shape, path)
        else:
            self.problems.append(f"{path}: type: unknown model type {kind!r} (not checked)")

    def structure(self, value: Any, shape: StructureShape, path: str) -> None:
        if not isinstance(value, dict):
            self.wrong_type(path, value, f"structure {shape.name} (dict)")
            return
        members = shape.members
        for name in shape.required_members:
            if name not in value:
                self.problems.append(f"{path}.{name}: required: missing required member")
        if shape.is_tagged_union and len(value) != 1:
            self.problems.append(
                f"{path}: union: exactly one member of {shape.name} must be set, got {len(value)}"
            )
        for name, member_value in value.items():
            member_shape = members.get(name)
            if member_shape is None:
                valid = ", ".join(list(members)[:20]) + (", ..." if len(members) > 20 else "")
                self.problems.append(
                    f"{path}.{name}: unknown member: {shape.name} has no member {name!r} "
                    f"(valid: {valid})"
                )
            else:
                self.check(member_value, member_shape, f"{path}.{name}")

    def sequence(self, value: Any, shape: ListShape, path: str) -> None:
        if not isinstance(value, list | tuple):
            self.wrong_type(path, value, f"list {shape.name}")
            return
        _limits(self.problems, path, "items", len(value), shape.metadata)
        for index, item in enumerate(value):
            self.check(item, shape.member, f"{path}[{index}]")

    def mapping(self, value: Any, shape: MapShape, path: str) -> None:
        if not isinstance(value, dict):
            self.wrong_type(path, value, f"map {shape.name} (dict)")
            return
        _limits(self.problems, path, "entries", len(value), shape.metadata)
        for key, item in value.items():
            self.check(key, shape.key, f"{path} key {key!r}")
            self.check(item, shape.value, f"{path}[{key!r}]")

    def string(self, value: Any, shape: Shape, path: str) -> None:
        if not isinstance(value, str):
            self.wrong_type(path, value, "string")
            return
        metadata = shape.metadata
        if "min" not in metadata and shape.serialization.get("hostLabel"):
            metadata = {**metadata, "min": 1}  # a host label cannot be empty
        _limits(self.problems, path, "length", len(value), metadata)
        enum = metadata.get("enum")
        if enum and value not in enum:
            allowed = ", ".join(enum[:20]) + (", ..." if len(enum) > 20 else "")
            self.problems.append(
                f"{path}: enum: {_show(value, shape)} is not one of {shape.name}: {allowed}"
            )
        pattern = metadata.get("pattern")
        if pattern is not None:
            compiled = compile_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                self.problems.append(
                    f"{path}: pattern: {_show(value, shape)} does not match {pattern!r} "
                    f"(whole value)"
                )

    def timestamp(self, value: Any, path: str) -> None:
        if isinstance(value, datetime.datetime):
            return
        try:
            parse_to_aware_datetime(value)
        except (TypeError, ValueError, AttributeError, OverflowError, OSError):
            self.wrong_type(path, value, "timestamp (datetime, ISO 8601 string or epoch)")

    def blob(self, value: Any, shape: Shape, path: str) -> None:
        if isinstance(value, str):
            size = len(value.encode("utf-8"))
        elif isinstance(value, bytes | bytearray):
            size = len(value)
        elif hasattr(value, "read"):
            return  # a stream: its length is not known before it is sent
        else:
            self.wrong_type(path, value, "blob (bytes, bytearray, str or file-like)")
            return
        _limits(self.problems, path, "length (bytes)", size, shape.metadata)

    def document(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    self.wrong_type(f"{path} key {key!r}", key, "string")
                self.document(item, f"{path}[{key!r}]")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.document(item, f"{path}[{index}]")
        elif value is not None and not isinstance(value, str | int | float | bool):
            self.wrong_type(path, value, "document (str, number, bool, None, list, dict)")


def request_problems(operation_model: OperationModel, params: Mapping[str, Any]) -> list[str]:
    """Every way ``params`` break the operation's input model (``Op.Member.Path: rule: ...``).

    AWS rejects such a request; moto may not, so the rehearsal asks here first.
    """
    walker = _Walker()
    shape = operation_model.input_shape
    if shape is None:
        for name in params:
            walker.problems.append(
                f"{operation_model.name}.{name}: unknown member: the operation takes no input"
            )
    else:
        walker.check(dict(params), shape, operation_model.name)
    return walker.problems


def operation_key(operation_model: OperationModel) -> str:
    """``service.Operation``, e.g. ``sagemaker-runtime.InvokeEndpoint``."""
    return f"{operation_model.service_model.service_name}.{operation_model.name}"


def check_request(params: Mapping[str, Any], model: OperationModel, **_: Any) -> None:
    """botocore ``before-parameter-build`` handler: count the operation, raise on any problem."""
    key = operation_key(model)
    problems = request_problems(model, params)
    with _lock:
        _checked[key] += 1
        if _journal is not None:
            with _journal.open("a", encoding="utf-8") as journal:
                journal.write(json.dumps({"operation": key, "problems": problems}) + "\n")
    if problems:
        raise StrictRequestError(key, problems)


def read_journal(path: Path) -> tuple[Counter[str], list[str]]:
    """What a journal holds: checked requests per operation, and every problem found."""
    counts: Counter[str] = Counter()
    problems: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            counts[entry["operation"]] += 1
            problems.extend(entry["problems"])
    return counts, problems


def checked_operations() -> dict[str, int]:
    """How many requests were checked per ``service.Operation`` in this process."""
    with _lock:
        return dict(_checked)


def reset_checked() -> None:
    """Forget the counts of :func:`checked_operations`."""
    with _lock:
        _checked.clear()


def register(client: BaseClient) -> None:
    """Check this (already created) client's requests; idempotent."""
    client.meta.events.register_last(EVENT_NAME, check_request, unique_id=_UNIQUE_ID)


def unregister(client: BaseClient) -> None:
    """Stop checking this client's requests."""
    client.meta.events.unregister(EVENT_NAME, check_request, unique_id=_UNIQUE_ID)


_original_create_client: Callable[..., BaseClient] | None = None
_registered: weakref.WeakSet[BaseClient] = weakref.WeakSet()
_install_lock = threading.Lock()


def install(journal: Path | None = None) -> None:
    """Make every botocore client created from now on in this process check its requests;
    with ``journal``, also append each check to that file."""
    global _original_create_client, _journal
    if journal is not None:
        _journal = journal
    with _install_lock:
        if _original_create_client is not None:
            return
        original: Callable[..., BaseClient] = ClientCreator.create_client

        @functools.wraps(original)
        def create_client(self: ClientCreator, *args: Any, **kwargs: Any) -> BaseClient:
            client = original(self, *args, **kwargs)
            register(client)
            _registered.add(client)
            return client

        setattr(ClientCreator, "create_client", create_client)  # noqa: B010
        _original_create_client = original


def uninstall() -> None:
    """Undo :func:`install`: new clients are unchecked, and so are the ones it registered."""
    global _original_create_client, _journal
    _journal = None
    with _install_lock:
        if _original_create_client is None:
            return
        setattr(ClientCreator, "create_client", _original_create_client)  # noqa: B010
        _original_create_client = None
        for client in list(_registered):
            unregister(client)
        _registered.clear()


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _original_create_client is not None


@contextmanager
def strict_requests() -> Iterator[None]:
    """:func:`install` for the block; uninstalls on exit only if it was not installed before."""
    was_installed = installed()
    install()
    try:
        yield
    finally:
        if not was_installed:
            uninstall()


__all__ = [
    "EVENT_NAME",
    "UNCOMPILABLE_PATTERNS",
    "StrictRequestError",
    "check_request",
    "checked_operations",
    "compile_pattern",
    "input_patterns",
    "install",
    "installed",
    "operation_key",
    "register",
    "request_problems",
    "reset_checked",
    "strict_requests",
    "translate_pattern",
    "uninstall",
    "unregister",
]


@contextmanager
def suspended() -> Iterator[None]:
    """No checking inside the block (and fresh counts); afterwards, everything as before:
    the install, the clients it had registered and the counts (tests of this module)."""
    global _journal
    was_installed, journal = installed(), _journal
    clients = list(_registered)
    counts = checked_operations()
    uninstall()
    reset_checked()
    try:
        yield
    finally:
        uninstall()
        with _lock:
            _checked.clear()
            _checked.update(counts)
        if was_installed:
            install(journal)
            for client in clients:
                register(client)
                _registered.add(client)
