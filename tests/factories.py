"""One plain factory per model. Build data with these, never by hand in a test."""

import datetime as dt

import factory
from django.utils import timezone

from accounts.enums import RepresentationStatus
from accounts.models import DepartmentMembership, EnterpriseRepresentative, ReviewerAssignment, User
from activities.enums import ActivityStatus, CampaignStatus, DepartmentLevel, RegionLevel
from activities.models import (
    Activity,
    ActivityImport,
    Campaign,
    ContentArea,
    Department,
    KeyArrangement,
    Region,
)
from activities.search import search_text_for
from feedback.enums import MediaKind, MediaState
from feedback.enums import ReportStatus as FeedbackStatus
from feedback.models import FeedbackMedia, FeedbackReport, TypicalCase
from registrations.enums import EnterpriseSize, Industry, RegistrationStatus
from registrations.models import Attendee, Enterprise, Registration
from registrations.validators import uscc_check_character


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.cn")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.django.Password("correct-horse-battery")
    email_verified_at = factory.LazyFunction(timezone.now)


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("year",)

    # Stay within the plausible years (CheckConstraint campaign_year_plausible) in long runs.
    year = factory.Sequence(lambda n: 2030 + n % 70)
    name_zh = factory.LazyAttribute(lambda o: f"{o.year}年全国“质量月”活动")
    name_en = factory.LazyAttribute(lambda o: f"{o.year} National Quality Month")
    theme_zh = "加强质量支撑 建设质量强国"
    theme_en = "Strengthen quality support and build a strong quality country"
    month_start = factory.LazyAttribute(lambda o: dt.date(o.year, 9, 1))
    month_end = factory.LazyAttribute(lambda o: dt.date(o.year, 9, 30))
    feedback_deadline = factory.LazyAttribute(lambda o: dt.date(o.year, 10, 31))
    status = CampaignStatus.OPEN


class ContentAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentArea

    campaign = factory.SubFactory(CampaignFactory)
    number = factory.Sequence(lambda n: n + 1)
    title_zh = factory.Sequence(lambda n: f"活动内容{n}")
    title_en = factory.Sequence(lambda n: f"Content area {n}")


class KeyArrangementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyArrangement

    campaign = factory.SubFactory(CampaignFactory)
    number = factory.Sequence(lambda n: n + 1)
    title_zh = factory.Sequence(lambda n: f"重点安排{n}")
    title_en = factory.Sequence(lambda n: f"Key arrangement {n}")


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{11 + n % 80:02d}0000")
    name_zh = factory.Sequence(lambda n: f"测试省{n}")
    name_en = factory.Sequence(lambda n: f"Test Province {n}")
    level = RegionLevel.PROVINCE
    parent = None


class CityFactory(ProvinceFactory):
    level = RegionLevel.CITY
    parent = factory.SubFactory(ProvinceFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.parent.code[:2]}{1 + n % 99:02d}00")
    name_zh = factory.Sequence(lambda n: f"测试市{n}")
    name_en = factory.Sequence(lambda n: f"Test City {n}")


class CountyFactory(ProvinceFactory):
    level = RegionLevel.COUNTY
    parent = factory.SubFactory(CityFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.parent.code[:4]}{1 + n % 99:02d}")
    name_zh = factory.Sequence(lambda n: f"测试县{n}")
    name_en = factory.Sequence(lambda n: f"Test County {n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    """A provincial market-regulation bureau by default."""

    class Meta:
        model = Department

    name_zh = factory.Sequence(lambda n: f"测试市场监督管理局{n}")
    name_en = factory.Sequence(lambda n: f"Test Administration for Market Regulation {n}")
    short_name_zh = factory.Sequence(lambda n: f"测试局{n}")
    level = DepartmentLevel.PROVINCIAL
    region = factory.SubFactory(ProvinceFactory)


class NationalDepartmentFactory(DepartmentFactory):
    level = DepartmentLevel.NATIONAL
    region = None


class ActivityFactory(factory.django.DjangoModelFactory):
    """A published activity open for sign-up next September, in its campaign's first arrangement."""

    class Meta:
        model = Activity
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    key_arrangement = factory.SubFactory(
        KeyArrangementFactory, campaign=factory.SelfAttribute("..campaign")
    )
    organiser = factory.SubFactory(DepartmentFactory)
    title = factory.Sequence(lambda n: f"质量提升培训班第{n}期")
    summary = "面向企业的质量管理培训"
    description = "邀请专家讲解质量管理体系与标准化。"
    region = factory.SelfAttribute("organiser.region")
    venue = "市民中心报告厅"
    starts_at = factory.LazyAttribute(
        lambda o: timezone.make_aware(dt.datetime(o.campaign.year, 9, 10, 9, 0))
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=3))
    signup_enabled = True
    capacity = 10
    signup_opens_at = factory.LazyAttribute(lambda o: o.starts_at - dt.timedelta(days=30))
    signup_closes_at = factory.LazyAttribute(lambda o: o.starts_at - dt.timedelta(days=1))
    attendees_per_enterprise = 2
    contact_name = "王老师"
    contact_phone = "010-12345678"
    no_fee_declared = True
    status = ActivityStatus.APPROVED
    search_text = factory.LazyAttribute(
        lambda o: search_text_for(o.title, o.summary, o.description)
    )


_uscc_counter = iter(range(10_000_000, 99_999_999))


def valid_uscc(region_code: str = "110000") -> str:
    first17 = f"91{region_code}{next(_uscc_counter):08d}0"
    return first17 + uscc_check_character(first17)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"测试质量科技有限公司{n}")
    region = factory.SubFactory(ProvinceFactory)
    uscc = factory.LazyAttribute(lambda o: valid_uscc(o.region.code))
    industry = Industry.C
    size = EnterpriseSize.SMALL
    address = "科技园路1号"
    contact_name = "李经理"
    mobile = "13800138000"
    email = factory.Sequence(lambda n: f"contact{n}@enterprise.example.cn")


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    activity = factory.SubFactory(ActivityFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    status = RegistrationStatus.CONFIRMED


class AttendeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendee

    registration = factory.SubFactory(RegistrationFactory)
    name = factory.Sequence(lambda n: f"参会人{n}")
    mobile = "13912345678"


class DepartmentMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepartmentMembership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)


class ReviewerAssignmentFactory(factory.django.DjangoModelFactory):
    """A national reviewer unless a region is given."""

    class Meta:
        model = ReviewerAssignment

    user = factory.SubFactory(UserFactory)
    region = None


class EnterpriseRepresentativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnterpriseRepresentative

    user = factory.SubFactory(UserFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    status = RepresentationStatus.APPROVED


class ActivityImportFactory(factory.django.DjangoModelFactory):
    """An uploaded workbook waiting for the import task (its file is not a real workbook)."""

    class Meta:
        model = ActivityImport

    campaign = factory.SubFactory(CampaignFactory)
    department = factory.SubFactory(DepartmentFactory)
    created_by = factory.SubFactory(UserFactory)
    file = factory.django.FileField(filename="plan.xlsx", data=b"PK")
    original_name = "plan.xlsx"


class FeedbackReportFactory(factory.django.DjangoModelFactory):
    """A complete draft report (summary and figures filled in), ready to submit."""

    class Meta:
        model = FeedbackReport

    campaign = factory.SubFactory(CampaignFactory)
    department = factory.SubFactory(DepartmentFactory)
    summary = "本部门质量月期间共组织活动十二场，覆盖企业三百余家。"
    activities_held = 12
    participants = 3400
    enterprises_involved = 310
    media_reports = 25
    status = FeedbackStatus.DRAFT


class TypicalCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TypicalCase

    report = factory.SubFactory(FeedbackReportFactory)
    title = factory.Sequence(lambda n: f"质量提升典型案例{n}")
    key_arrangement = factory.SubFactory(
        KeyArrangementFactory, campaign=factory.SelfAttribute("..report.campaign")
    )
    region = factory.LazyAttribute(
        lambda o: o.report.department.region or ProvinceFactory()
    )
    body = "某企业通过导入卓越绩效模式，产品一次合格率提升至99.5%。"
    publication_consent = True


class FeedbackMediaFactory(factory.django.DjangoModelFactory):
    """A processed picture of a report (or of one of its cases): the row only, no file is
    written; tests of the files themselves go through services.media_add."""

    class Meta:
        model = FeedbackMedia

    report = factory.SubFactory(FeedbackReportFactory)
    case = None
    kind = MediaKind.PICTURE
    format = "jpeg"
    content_type = "image/jpeg"
    original_name = factory.Sequence(lambda n: f"现场照片{n}.jpg")
    file = factory.Sequence(lambda n: f"feedback/test-{n:08d}.jpg")
    size = 2048
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    state = MediaState.READY
