"""The console's figures, computed in SQL."""
from __future__ import annotations


from sqlalchemy import func, or_, select

from bot.db.models import Complaint, ConversationLog, HandoffRequest, Subscriber, utcnow
from bot.db.session import Database


def home_counts(database: Database) -> dict[str, int]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    with database.session() as session:
        def count(query: object) -> int:
            return int(session.execute(query).scalar_one())  # type: ignore[arg-type]

        return {
            "waiting_handoffs": count(
                select(func.count(HandoffRequest.id)).where(HandoffRequest.status == "waiting")
            ),
            "open_complaints": count(
                select(func.count(Complaint.id)).where(
                    Complaint.status.in_(("received", "in_progress"))
                )
            ),
            "subscribers": count(
                select(func.count(Subscriber.id)).where(
                    Subscriber.opted_in_at.is_not(None),
                    or_(
                        Subscriber.opted_out_at.is_(None),
                        Subscriber.opted_out_at < Subscriber.opted_in_at,
                    ),
                )
            ),
            "messages_today": count(
                select(func.count(ConversationLog.id)).where(
                    ConversationLog.direction == "in", ConversationLog.created_at >= today
                )
            ),
        }


