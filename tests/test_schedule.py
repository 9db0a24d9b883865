"""Adaptive polling and retry timing."""

from datetime import UTC, datetime, timedelta

from broadsheet.ingest.schedule import article_retry, error_backoff, next_poll, publishing_interval

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def hours_ago(*hours):
    return [NOW - timedelta(hours=h) for h in hours]


def test_busy_feed_is_polled_often(settings):
    settings.BROADSHEET_POLL_MIN_INTERVAL = 300
    every_20_minutes = [NOW - timedelta(minutes=20 * i) for i in range(10)]
    assert publishing_interval(every_20_minutes, 900) == 600


def test_quiet_feed_is_polled_rarely(settings):
    settings.BROADSHEET_POLL_MAX_INTERVAL = 86400
    assert publishing_interval(hours_ago(0, 48, 96, 144), 900) == 86400


def test_interval_stays_within_bounds(settings):
    settings.BROADSHEET_POLL_MIN_INTERVAL = 300
    burst = [NOW - timedelta(seconds=i) for i in range(10)]
    assert publishing_interval(burst, 900) == 300
    assert publishing_interval([], 900) == 900
    assert publishing_interval([None, NOW], 900) == 900


def test_cache_control_and_retry_after_are_honoured(settings):
    settings.BROADSHEET_POLL_MIN_INTERVAL = 60
    assert next_poll(NOW, 600, cache_max_age=3600) == NOW + timedelta(hours=1)
    later = NOW + timedelta(hours=3)
    assert next_poll(NOW, 600, retry_after=later) == later


def test_errors_back_off_exponentially(settings):
    settings.BROADSHEET_POLL_MIN_INTERVAL = 60
    settings.BROADSHEET_POLL_MAX_INTERVAL = 86400
    gaps = [error_backoff(NOW, 600, n, None) - NOW for n in (1, 2, 3, 20)]
    assert gaps[0] < gaps[1] < gaps[2] <= gaps[3] == timedelta(days=1)


def test_article_retries_wait_longer_each_time():
    first, second = article_retry(NOW, 1, None), article_retry(NOW, 2, None)
    assert NOW < first < second
    assert article_retry(NOW, 1, NOW + timedelta(days=1)) == NOW + timedelta(days=1)
