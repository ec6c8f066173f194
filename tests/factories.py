"""factory_boy factories for the models, flushed into the test's session."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth.models import Role, User
from app.auth.services import hash_password
from app.enterprises.credit_code import check_character
from app.enterprises.models import Enterprise, EnterpriseContact, Ownership
from app.enterprises.names import normalize_name
from app.extensions import db
from app.parks.models import Chain, ChainLink, Park
from app.pipeline.lifecycle import Stage
from app.pipeline.models import ContactLog, ContactType, Lead, LeadSource, Project

PASSWORD = "Passw0rd!"


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class ParkFactory(Base):
    class Meta:
        model = Park

    code = factory.Sequence(lambda n: f"P{n}")
    name = factory.Sequence(lambda n: f"测试园区{n}")
    sort_order = factory.Sequence(int)


class ChainFactory(Base):
    class Meta:
        model = Chain

    code = factory.Sequence(lambda n: f"C{n}")
    name = factory.Sequence(lambda n: f"测试产业链{n}")


class ChainLinkFactory(Base):
    class Meta:
        model = ChainLink

    chain = factory.SubFactory(ChainFactory)
    name = factory.Sequence(lambda n: f"环节{n}")
    position = factory.Sequence(int)


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.OFFICER
    password_hash = factory.LazyFunction(password_hash)
    active = True


def credit_code(n: int) -> str:
    """Return a valid credit code numbered *n*."""
    first17 = f"91370211MA{n:07d}"
    return first17 + check_character(first17)


class EnterpriseFactory(Base):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"测试{n}号科技有限公司")
    name_key = factory.LazyAttribute(lambda o: normalize_name(o.name))
    credit_code = factory.Sequence(credit_code)
    ownership = Ownership.PRIVATE


class EnterpriseContactFactory(Base):
    class Meta:
        model = EnterpriseContact

    enterprise = factory.SubFactory(EnterpriseFactory)
    name = "王经理"


class LeadFactory(Base):
    class Meta:
        model = Lead

    title = factory.Sequence(lambda n: f"测试线索{n}")
    enterprise = factory.SubFactory(EnterpriseFactory)
    owner = factory.SubFactory(UserFactory)
    park = factory.SubFactory(ParkFactory)
    source = LeadSource.VISIT
    estimated_investment = Decimal("2")
    stage = Stage.LEAD
    stage_since = factory.LazyFunction(lambda: dt.date.today() - dt.timedelta(days=10))
    last_contact_on = factory.LazyFunction(lambda: dt.date.today() - dt.timedelta(days=3))


class ProjectFactory(Base):
    class Meta:
        model = Project

    lead = factory.SubFactory(LeadFactory)
    name = factory.Sequence(lambda n: f"测试项目{n}")
    enterprise = factory.LazyAttribute(lambda o: o.lead.enterprise)
    owner = factory.LazyAttribute(lambda o: o.lead.owner)
    park = factory.LazyAttribute(lambda o: o.lead.park)
    total_investment = Decimal("10")
    stage = Stage.SIGNED
    stage_since = factory.LazyFunction(lambda: dt.date.today() - dt.timedelta(days=20))
    signed_on = factory.LazyFunction(lambda: dt.date.today() - dt.timedelta(days=20))
    last_contact_on = factory.LazyFunction(lambda: dt.date.today() - dt.timedelta(days=3))


class ContactLogFactory(Base):
    class Meta:
        model = ContactLog
        exclude = ("lead",)

    lead = factory.SubFactory(LeadFactory)
    lead_id = factory.LazyAttribute(lambda o: o.lead.id)
    contact_type = ContactType.VISIT
    contact_on = factory.LazyFunction(dt.date.today)
    summary = "拜访企业，介绍园区政策。"
