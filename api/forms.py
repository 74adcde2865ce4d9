"""Console forms parsed into the API's own request models, so a form can accept nothing the JSON API
would refuse (one validation, two doors); pydantic's messages are turned into Chinese for the page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from matcher.domain import demand as demand_fields
from matcher.domain import talent as talent_fields
from matcher.tabular import split_list

M = TypeVar("M", bound=BaseModel)

#: Field labels on the pages: the talent's and the demand's from their declarations, the workflow's own here.
LABELS = {
    **talent_fields.LABELS, **demand_fields.LABELS,
    "note": "联络记录", "answer": "人才答复", "plan": "服务方案", "decision": "审核结论", "reason": "审核意见",
    "result": "成效", "text": "说明", "qualifies": "奖补决定", "amount": "奖补金额", "talent_id": "人才",
    "mode": "引才方式", "max_posts_per_talent": "每位专家最多", "flexible_form": "柔性方式",
}

_MESSAGES = {
    "missing": "必须填写",
    "string_too_short": "至少 {min_length} 个字",
    "string_too_long": "不能超过 {max_length} 个字",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
    "finite_number": "必须是有限的数字",
    "float_parsing": "必须是数字",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "date_parsing": "日期格式应为 2027-03-31",
    "date_from_datetime_parsing": "日期格式应为 2027-03-31",
    "bool_parsing": "取值无效",
    "enum": "取值无效",
    "literal_error": "取值无效",
    "string_pattern_mismatch": "格式不正确",
    "extra_forbidden": "不是可提交的字段",
}


def form_values(form: FormData, lists: Iterable[str] = (), split: Iterable[str] = ()) -> dict[str, Any]:
    """Form fields as a request body: blank fields are left out (so optional ones stay empty and
    required ones are reported missing), ``lists`` are repeated fields, ``split`` are comma lists."""
    lists, split = set(lists), set(split)
    out: dict[str, Any] = {}
    for key in {k for k, _ in form.multi_items()} - {"csrf"}:
        if key in lists:
            out[key] = [str(v) for v in form.getlist(key) if str(v).strip()]
        elif key in split:
            out[key] = split_list(str(form.get(key) or ""))
        else:
            value = str(form.get(key) or "").strip()
            if value:
                out[key] = value
    return out


def parse(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or the errors by field in Chinese."""
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        return None, errors_in_chinese(exc)


def errors_in_chinese(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = loc[0] if loc else "form"
        template = _MESSAGES.get(err["type"])
        if template is not None:
            message = template.format(**(err.get("ctx") or {}))
        elif "control character" in err.get("msg", ""):
            message = "含有不可见的控制字符，请删除后重试"
        elif "null" in err.get("msg", ""):
            message = "必须填写"
        else:
            message = str(err.get("msg", "取值无效"))
        errors.setdefault(field, f"{LABELS.get(field, field)}：{message}")
    return errors
