"""How every resource constructor accepts either an `...Args` object or keyword arguments."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")


def split_arguments(
    resource: str, args_type: type[ArgsT], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[ArgsT, pulumi.ResourceOptions | None]:
    """`(name, ArgsObject, opts)` or `(name, opts, **fields)` -> (args object, options)."""
    opts = kwargs.pop("opts", None)
    positional = list(args)
    if positional and isinstance(positional[0], args_type):
        args_obj = positional.pop(0)
        if kwargs:
            raise TypeError(f"{resource}: pass either {args_type.__name__} or keyword arguments, not both")
    else:
        try:
            args_obj = args_type(**kwargs)
        except TypeError as exc:
            raise TypeError(f"{resource}: {exc}") from None
    if positional:
        opts = positional.pop(0)
    if positional:
        raise TypeError(f"{resource} takes a name, optionally {args_type.__name__}, and opts")
    if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
        raise TypeError(f"{resource}: opts must be a pulumi.ResourceOptions")
    return args_obj, opts


def properties(args_obj: Any, outputs: tuple[str, ...]) -> dict[str, Any]:
    """The property bag: every argument, plus a None placeholder per read-only output."""
    # Not dataclasses.asdict: it deep-copies, and an Output cannot be copied outside serialization.
    props: dict[str, Any] = {f.name: getattr(args_obj, f.name) for f in fields(args_obj)}
    for name in outputs:
        props[name] = None
    return props
