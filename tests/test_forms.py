"""The form layer's one error shape: every form (admin, task, board) refuses with FormErrors,
a message per field, which is also a RuleViolation, so a page catches one exception."""

import pytest
from starlette.datastructures import FormData

from app.errors import RuleViolation
from app.forms import tasks as task_forms
from app.forms.errors import FORM_KEY, FormErrors
from app.forms.users import UserInput, parse_user


def refusal(call: object) -> FormErrors:
    assert callable(call)
    with pytest.raises(RuleViolation) as caught:
        call()
    assert isinstance(caught.value, FormErrors)
    return caught.value


def test_a_task_form_refuses_with_a_message_per_field() -> None:
    values = task_forms.TaskFormValues(title="", lead_unit_id="x", due_date="31/02/2026")
    errors = refusal(lambda: task_forms.task_create(values)).errors
    assert {"title", "lead_unit_id", "due_date"} <= set(errors)
    assert all(isinstance(message, str) and message for message in errors.values())


def test_a_progress_form_without_its_version_names_the_whole_form() -> None:
    errors = refusal(lambda: task_forms.progress_update(FormData({"progress_pct": "50"}))).errors
    assert errors[FORM_KEY] == task_forms.VERSION_MESSAGE


def test_an_admin_form_refuses_in_the_same_shape() -> None:
    form = UserInput(role="unit", password="a" * 12, password_repeat="b" * 12)
    failed = refusal(lambda: parse_user(form, password_required=True))
    assert failed.errors == {"password_repeat": "Kedua kata sandi tidak sama."}
    # The first message is also the RuleViolation's, for callers that show one message.
    assert (failed.field, failed.message) == ("password_repeat", "Kedua kata sandi tidak sama.")


def test_a_single_violation_takes_the_same_shape() -> None:
    assert FormErrors.of(RuleViolation("Salah.", field="code")).errors == {"code": "Salah."}
    assert FormErrors.of(RuleViolation("Tidak dapat disimpan.")).errors == {
        FORM_KEY: "Tidak dapat disimpan."
    }
    same = FormErrors({"name": "Wajib diisi."})
    assert FormErrors.of(same) is same


def test_a_board_move_is_parsed_by_the_form_layer() -> None:
    """The board, Tugas saya and the move page send the same fields; one parser reads them."""
    move = task_forms.task_move(
        FormData({"status": "blocked", "version": "3", "after_id": "12", "blocked_reason": "x"})
    )
    assert (move.status, move.version, move.after_id, move.blocked_reason) == (
        "blocked",
        3,
        12,
        "x",
    )
    assert task_forms.task_move(FormData({"status": "todo", "version": "3"})).after_id is None
    errors = refusal(
        lambda: task_forms.task_move(FormData({"status": "nope", "version": "1", "after_id": "x"}))
    ).errors
    assert errors == {
        "status": task_forms.CHOICE_MESSAGE,
        "after_id": task_forms.CHOICE_MESSAGE,
    }
