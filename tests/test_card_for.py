"""One card as the board shows it (services.board.card_for: the answer to a move, a card's
move page), read by a select built once."""

from sqlmodel import Session

from app.services import board as board_service
from app.services import plans
from tests.factories import World, make_plan, make_task


def test_card_for_reads_one_card_of_its_plan_and_no_other(session: Session, world: World) -> None:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        title="Jalan poros",
        district_id=world.district.id,
        program_ids=[world.sehat.id],
    )
    other_plan = make_plan(session, is_current=False)
    elsewhere = make_task(
        session, actor=world.team, plan=other_plan, lead=world.dinkes, title="Lain"
    )
    calendar = plans.plan_calendar(session, world.plan)

    def card_of(task_id: int) -> board_service.Card | None:
        return board_service.card_for(
            session, task_id=task_id, plan=world.plan, user=world.team, calendar=calendar
        )

    card = card_of(task.pk)
    assert card is not None
    assert (card.task.pk, card.task.title) == (task.pk, "Jalan poros")
    assert card.lead_unit_name == world.putr.short_name
    assert card.district_name == world.district.short_name
    assert [tag.id for tag in card.programs] == [world.sehat.id]
    assert card_of(elsewhere.pk) is None
    assert card_of(999_999) is None
