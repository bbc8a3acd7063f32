"""Where a message's context and recipients are read from the ledger: one query per question (``Lookup``), or
the answers for a whole batch read up front (``Prefetched``, for the tick)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, cast

from sqlalchemy import select
from sqlmodel import Session

from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Contact, District, Renewal, Vendor


# What the templates' contexts and the recipients read of each row: the ORM objects of ``Lookup`` and the Core rows
# of ``Prefetched`` both have these attributes.
class DistrictRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def lea_code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def county(self) -> str | None: ...


class VendorRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def onboarding_name(self) -> str | None: ...
    @property
    def onboarding_email(self) -> str | None: ...


class ContactRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> str | None: ...


class ConnectionRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def retired_on(self) -> date | None: ...
    @property
    def method(self) -> str: ...
    @property
    def course_planning(self) -> bool: ...


class RenewalRow(Protocol):
    @property
    def requested_on(self) -> date | None: ...
    @property
    def expected_enabled_by(self) -> date | None: ...
    @property
    def enabled_on(self) -> date | None: ...
    @property
    def confirmed_on(self) -> date | None: ...
    @property
    def disconnected_on(self) -> date | None: ...


class Lookup:
    """What contexts and recipients read from the ledger: by default one query per question, in ``session``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def district(self, district_id: int) -> DistrictRow | None:
        return self.session.get(District, district_id)

    def vendor(self, vendor_id: int) -> VendorRow | None:
        return self.session.get(Vendor, vendor_id)

    def contacts(self, district_id: int) -> list[ContactRow]:
        return list(q.contacts_of(self.session, district_id=district_id))

    def connection(self, district_id: int, vendor_id: int) -> ConnectionRow | None:
        return q.find_connection(self.session, district_id=district_id, vendor_id=vendor_id)

    def renewal(self, connection_id: int, school_year: int) -> RenewalRow | None:
        return q.find_renewal(self.session, connection_id=connection_id, school_year=school_year)


class Prefetched(Lookup):
    """The same answers for a batch of messages (the tick's), read up front in four set-based queries: the
    districts with their contacts, every vendor, the districts' connections and their renewals of ``years``.
    Rows are plain Core rows with the columns as attributes; anything outside the batch is looked up as usual."""

    def __init__(self, session: Session, *, district_ids: Iterable[int], years: Iterable[int]) -> None:
        super().__init__(session)
        ids = sorted(set(district_ids))
        self._years = set(years)
        dist, cont = District.__table__.c, Contact.__table__.c
        conn_c, ren_c = Connection.__table__.c, Renewal.__table__.c
        self._districts: dict[int, DistrictRow] = {}
        self._contacts: dict[int, list[ContactRow]] = {}
        self._connections: dict[tuple[int, int], ConnectionRow] = {}
        self._renewals: dict[tuple[int, int], RenewalRow] = {}
        self._vendors: dict[int, VendorRow] = {
            v.id: cast(VendorRow, v) for v in session.execute(select(Vendor.__table__))
        }
        for chunk in q.chunks(ids):
            for d in session.execute(select(District.__table__).where(dist.id.in_(chunk))):
                self._districts[d.id] = cast(DistrictRow, d)
                self._contacts[d.id] = []
            for c in session.execute(select(Contact.__table__).where(cont.district_id.in_(chunk)).order_by(cont.id)):
                self._contacts[c.district_id].append(cast(ContactRow, c))
            for c in session.execute(select(Connection.__table__).where(conn_c.district_id.in_(chunk))):
                self._connections[(c.district_id, c.vendor_id)] = cast(ConnectionRow, c)
            renewals = select(Renewal.__table__).where(
                ren_c.connection_id.in_(select(conn_c.id).where(conn_c.district_id.in_(chunk))),
                ren_c.school_year.in_(sorted(self._years)),
            )
            for r in session.execute(renewals):
                self._renewals[(r.connection_id, r.school_year)] = cast(RenewalRow, r)
        self._connection_ids = {c.id for c in self._connections.values()}

    def district(self, district_id: int) -> DistrictRow | None:
        found = self._districts.get(district_id)
        return found if found is not None else super().district(district_id)

    def vendor(self, vendor_id: int) -> VendorRow | None:
        found = self._vendors.get(vendor_id)
        return found if found is not None else super().vendor(vendor_id)

    def contacts(self, district_id: int) -> list[ContactRow]:
        found = self._contacts.get(district_id)
        return found if found is not None else super().contacts(district_id)

    def connection(self, district_id: int, vendor_id: int) -> ConnectionRow | None:
        if district_id in self._districts:
            return self._connections.get((district_id, vendor_id))
        return super().connection(district_id, vendor_id)

    def renewal(self, connection_id: int, school_year: int) -> RenewalRow | None:
        if school_year in self._years and connection_id in self._connection_ids:
            return self._renewals.get((connection_id, school_year))
        return super().renewal(connection_id, school_year)
