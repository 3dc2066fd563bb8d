"""Goals' own rule: `due_at` is a calendar date. The rest is the per-resource suite's."""

from datetime import date


def test_a_goal_is_due_on_the_calendar_day_given(client) -> None:
    due = date(2026, 6, 30)
    goal = client.performance.goals.create(person_id="p1", title="Ship v2", due_at=due)

    assert goal.due_at == due
