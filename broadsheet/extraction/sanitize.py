"""The last gate between a publisher's markup and our pages: an nh3 (ammonia) allow-list.

Sanitizing runs last in the pipeline, after extraction and every rewrite, because any step that
touches markup afterwards could reintroduce what was removed: an allow-list only guarantees
what it saw. Whatever comes out of here is stored and rendered as-is.
"""

from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3

TAGS = frozenset(
    {
        "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "strong", "em", "b", "i",
        "a", "figure", "figcaption", "img", "cite", "q", "sub", "sup", "code", "pre", "hr",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip

# Elements whose text is code, styling, widgets or embedded documents: dropping the tag alone
# would leak their contents into the article as visible text.
DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed",
        "applet", "svg", "math", "form", "button", "select", "textarea", "template", "noscript",
        "noembed", "title", "head", "xmp", "plaintext", "canvas", "audio", "video", "map",
    }
)  # fmt: skip

ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
NUMERIC = frozenset({"width", "height", "colspan", "rowspan"})
WEB_SCHEMES = ("http", "https")
LINK_REL = "noopener nofollow ugc"


def _web_base(base_url: str) -> str:
    """The base to resolve against, or "" when it is not a web address: a hostile base such as
    `javascript:` must not turn every relative link into script."""
    parts = urlsplit(base_url or "")
    return base_url if parts.scheme.lower() in WEB_SCHEMES and parts.netloc else ""


def _keep_attribute(base: str, tag: str, name: str, value: str) -> str | None:
    if name in NUMERIC:
        return value if value.isdigit() and len(value) <= 5 else None
    if name not in ("href", "src"):
        return value
    try:
        url = urljoin(base, value.strip()) if base else value.strip()
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    # nh3 does not re-check what a filter returns, so the scheme is vetted here too; mail is
    # fine on a link, never as an image to load.
    allowed = WEB_SCHEMES if tag == "img" else (*WEB_SCHEMES, "mailto")
    return url if scheme in allowed else None


def sanitize_html(html: str, base_url: str) -> str:
    """Reduce `html` to the allow-listed article markup, with absolute http(s)/mailto links.

    Relative URLs are resolved against `base_url` before their scheme is checked, so relative
    links survive while every resulting URL still passes the allow-list; without a web base a
    relative URL is dropped.
    """
    if not html:
        return ""
    base = _web_base(base_url)
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes=ATTRIBUTES,
        attribute_filter=partial(_keep_attribute, base),
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes={"http", "https", "mailto"},
        url_relative=("rewrite_with_base", base) if base else "deny",
        set_tag_attribute_values={"img": {"loading": "lazy"}},
    ).strip()
