"""Schemas shared by several API resources."""

from __future__ import annotations

from marshmallow import Schema, fields


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict()


class PageSchema(Schema):
    """SPEC 7: a list is `{"items": [...], "next": url-or-null}`."""

    next = fields.String(allow_none=True)
