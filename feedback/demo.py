"""Demo feedback for `seed_demo`: reports in every state, typical cases with pictures (and a short
video where ffmpeg is installed), some published on the showcase.

Everything goes through the services (checked, audited) as the demo administrator; the demo
campaign's deadline lies in the past, so submitted and accepted reports are moved to their state
as of October of the campaign year, the way they would have been then.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import shutil
import subprocess
import tempfile

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from PIL import Image, ImageDraw

from activities.enums import DepartmentLevel
from activities.models import Campaign, Department, KeyArrangement
from qualitymonth.audit import audit_log
from qualitymonth.models import ReviewDecision, ReviewDecisionKind

from . import media_checks, services
from .enums import ReportStatus
from .models import FeedbackReport

# (title, arrangement number, body) — typical cases as bureaus write them.
CASES = [
    (
        "“质量强企”帮扶行动助力中小企业一次合格率提升",
        3,
        "市场监管部门组织质量专家深入中小企业开展“一对一”诊断帮扶，围绕原材料进货检验、"
        "过程控制和出厂检验三个环节梳理问题清单，帮助企业建立首件检验和不合格品追溯制度。"
        "活动期间共走访企业126家，提出改进建议480余条，参与企业产品一次合格率平均提高2.3个百分点。",
    ),
    (
        "首席质量官培训班培养企业质量管理骨干",
        6,
        "依托高校质量学院举办首席质量官培训班，课程涵盖卓越绩效模式、质量成本管理和数字化质量管控，"
        "采用“课堂讲授+现场观摩+案例研讨”方式。来自制造业、服务业的168名学员结业，"
        "其中32家企业据此修订了质量管理制度。",
    ),
    (
        "计量服务进园区 为企业节能降耗算细账",
        4,
        "计量技术机构组建服务队走进工业园区，为企业免费开展能源计量器具配备和使用情况检查，"
        "帮助企业完善能源计量数据采集系统。服务企业57家，发现并解决计量问题130余个，"
        "预计每年帮助企业节约能源成本约860万元。",
    ),
    (
        "标准化助力特色农产品走出大山",
        5,
        "围绕地方特色农产品，制定从种植、采摘、分级到包装的团体标准4项，组织合作社和农户开展标准宣贯，"
        "推行标准化生产和质量追溯。活动带动12个乡镇、3000余农户按标生产，产品优质率明显提升，"
        "进入省外大型商超渠道。",
    ),
    (
        "“质量开放日”让消费者走进生产一线",
        7,
        "组织食品、家电、儿童用品等行业27家企业开展质量开放日活动，邀请消费者代表、"
        "人大代表和媒体记者参观生产线和检验实验室，现场讲解产品质量控制要点，"
        "共接待参观群众4100余人次，收集意见建议200余条并逐一反馈。",
    ),
    (
        "检验检测机构“走基层”开展免费检测服务",
        8,
        "检验检测机构在社区、集市设立服务点，为群众免费检测珠宝玉石、燃气灶具和电动自行车充电器等"
        "日用品，同步开展消费提示和安全用电宣传，共提供检测服务2600余次，发放宣传资料1.2万份。",
    ),
    (
        "质量基础设施“一站式”服务平台上线运行",
        4,
        "整合计量、标准、认证认可、检验检测和知识产权等服务资源，上线质量基础设施“一站式”服务平台，"
        "企业可在线提交需求、预约服务和查询进度。平台运行一个月即受理企业需求390项，"
        "平均办理时间缩短40%。",
    ),
    (
        "质量月知识竞赛激发职工质量意识",
        2,
        "联合总工会举办质量知识竞赛，设置线上答题和现场决赛两个环节，"
        "内容涵盖质量法律法规、质量管理工具和安全生产常识。全市240余家企业的1.8万名职工参与线上答题，"
        "32支代表队进入现场决赛。",
    ),
]

PALETTES = [
    ((14, 82, 160), (120, 190, 240)),
    ((180, 40, 40), (250, 180, 120)),
    ((20, 120, 80), (170, 230, 170)),
    ((90, 60, 150), (210, 180, 250)),
    ((200, 120, 10), (250, 220, 120)),
]


def demo_picture(seed: int, size=(1600, 1000)) -> bytes:
    """A colourful picture (gradient with shapes), JPEG, made without any font."""
    rng = random.Random(seed)  # noqa: S311 - shapes of a demo picture  # nosec B311
    top, bottom = PALETTES[seed % len(PALETTES)]
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(14):
        r = rng.randint(40, 220)
        x, y = rng.randint(0, width), rng.randint(0, height)
        shade = tuple(min(255, c + rng.randint(30, 90)) for c in top)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=shade, width=rng.randint(4, 14))
    # a "building" skyline at the bottom
    x = 0
    while x < width:
        w, h = rng.randint(60, 160), rng.randint(120, 420)
        draw.rectangle([x, height - h, x + w, height], fill=tuple(max(0, c - 40) for c in top))
        for wy in range(height - h + 20, height - 20, 40):
            for wx in range(x + 12, x + w - 12, 28):
                if rng.random() < 0.6:
                    draw.rectangle([wx, wy, wx + 12, wy + 18], fill=(250, 240, 200))
        x += w + rng.randint(4, 20)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def demo_video(path: str, seed: int) -> bool:
    """A five-second test clip (H.264 MP4) where ffmpeg is installed."""
    ffmpeg = media_checks.find_executable("ffmpeg")
    if not ffmpeg:
        return False
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell  # nosec B603
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=640x360:rate=25:duration=5,hue=h={seed * 47 % 360}",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast",
         "-movflags", "+faststart", path],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return result.returncode == 0 and os.path.exists(path)


def _add_picture(report, case, admin, seed: int, name: str) -> None:
    fd, path = tempfile.mkstemp(suffix=".jpg")
    with os.fdopen(fd, "wb") as f:
        f.write(demo_picture(seed))
    services.media_add(report, actor=admin, path=path, original_name=name, case=case)


def _set_state(report: FeedbackReport, status: str, when: dt.datetime, reviewer) -> None:
    """Move a demo report to `status` as of `when` (the demo campaign's deadline is past)."""
    FeedbackReport.objects.filter(pk=report.pk).update(
        status=status, submitted_at=when, version=report.version + 1
    )
    report.status, report.submitted_at = status, when
    audit_log(
        report,
        f"feedback.report.{ReportStatus.SUBMITTED}",
        actor=report.created_by,
        changes={"status": [ReportStatus.DRAFT, ReportStatus.SUBMITTED]},
    )
    if status != ReportStatus.SUBMITTED:
        audit_log(
            report,
            f"feedback.report.{status}",
            actor=reviewer,
            changes={"status": [ReportStatus.SUBMITTED, status]},
        )
    if status in (ReportStatus.ACCEPTED, ReportStatus.RETURNED):
        ReviewDecision.objects.create(
            content_type=ContentType.objects.get_for_model(FeedbackReport),
            object_id=str(report.pk),
            decision=(
                ReviewDecisionKind.APPROVED
                if status == ReportStatus.ACCEPTED
                else ReviewDecisionKind.RETURNED
            ),
            reviewer=reviewer,
            comment="" if status == ReportStatus.ACCEPTED else "请补充典型案例的图片。",
            snapshot=services.FEEDBACK_WORKFLOW.snapshot(report),
        )


def seed_feedback_demo(campaign: Campaign, users: dict, rng: random.Random) -> dict[str, int]:
    """Reports of the demo campaign: accepted ones with published cases, submitted ones waiting
    for the national and the Zhejiang reviewers, one returned, and the Zhejiang bureau's own draft
    (with a later deadline, so the demo staff member can submit it). Returns counts."""
    admin, reviewer = users["admin"], users["reviewer"]
    arrangements = {k.number: k for k in KeyArrangement.objects.filter(campaign=campaign)}
    provincial = list(
        Department.objects.filter(level=DepartmentLevel.PROVINCIAL, is_active=True)
        .select_related("region")
        .order_by("region__code")
    )
    zhejiang = users["staff_zj"].department_membership.department
    others = [d for d in provincial if d.pk != zhejiang.pk]
    zj_cities = list(
        Department.objects.filter(
            level=DepartmentLevel.CITY, region__code__startswith="33", is_active=True
        ).order_by("region__code")[:3]
    )
    plan = (
        [(d, ReportStatus.ACCEPTED) for d in others[:6]]
        + [(d, ReportStatus.SUBMITTED) for d in others[6:9]]
        + [(d, ReportStatus.SUBMITTED) for d in zj_cities[:2]]
        + [(d, ReportStatus.RETURNED) for d in others[9:10]]
        + [(d, ReportStatus.DRAFT) for d in others[10:12]]
    )
    counts = {"reports": 0, "cases": 0, "pictures": 0, "videos": 0, "published": 0}
    case_index = 0
    video_dir = tempfile.mkdtemp()
    for n, (department, status) in enumerate(plan):
        report = services.report_start(department=department, campaign=campaign, actor=admin)
        activities = list(services.reportable_activities(report)[:5])
        held = max(len(activities), rng.randint(8, 60))
        services.report_update(
            report,
            actor=admin,
            summary=(
                f"{campaign.year}年质量月期间，{department.name_zh}围绕“{campaign.theme_zh}”主题，"
                f"组织开展各类质量活动{held}场，覆盖企业{held * rng.randint(8, 20)}家。"
                "活动突出企业质量主体责任，推动质量基础设施服务下沉，取得了良好成效。"
                "下一步将总结推广典型经验，建立质量提升长效机制。"
            ),
            activities_held=held,
            participants=held * rng.randint(80, 400),
            enterprises_involved=held * rng.randint(8, 20),
            media_reports=rng.randint(5, 80),
            activities=activities,
        )
        for k in range(1 if status == ReportStatus.DRAFT else 2):
            title, number, body = CASES[case_index % len(CASES)]
            case = services.case_create(
                report,
                actor=admin,
                title=title,
                key_arrangement=arrangements.get(number) or next(iter(arrangements.values())),
                region=department.region,
                body=body,
                publication_consent=(case_index % 3 != 2),
            )
            case_index += 1
            counts["cases"] += 1
            for p in range(2):
                _add_picture(
                    report, case, admin, seed=case_index * 7 + p * 3, name=f"现场照片{p + 1}.jpg"
                )
                counts["pictures"] += 1
            if k == 0 and status == ReportStatus.ACCEPTED and n < 3:
                path = os.path.join(video_dir, f"clip{n}.mp4")
                if demo_video(path, n):
                    services.media_add(
                        report, actor=admin, path=path, original_name="活动现场视频.mp4", case=case
                    )
                    counts["videos"] += 1
        counts["reports"] += 1
        if status == ReportStatus.DRAFT:
            continue
        when = timezone.make_aware(dt.datetime(campaign.year, 10, 10 + n % 18, 9 + n % 8, 30))
        report.refresh_from_db()
        _set_state(report, status, when, reviewer)
        if status == ReportStatus.ACCEPTED:
            for case in report.cases.filter(publication_consent=True):
                services.case_publish(case, actor=reviewer)
                counts["published"] += 1
    # The demo Zhejiang bureau's own report: a draft, with a later deadline granted.
    report = services.report_start(department=zhejiang, campaign=campaign, actor=admin)
    services.report_extend_deadline(
        department=zhejiang,
        campaign=campaign,
        until=timezone.localdate() + dt.timedelta(days=30),
        actor=admin,
        reason="演示：延长报送期限，便于体验提交流程。",
    )
    counts["reports"] += 1
    shutil.rmtree(video_dir, ignore_errors=True)
    return counts
