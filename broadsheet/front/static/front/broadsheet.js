/* Broadsheet's only script: relative times in the reader's zone, and the article's AI box.
   Loaded from a file (no inline code), so pages can run under a strict Content-Security-Policy. */
(function () {
  "use strict";

  var MINUTE = 60 * 1000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
  var exact = new Intl.DateTimeFormat(undefined, {
    weekday: "long", year: "numeric", month: "long", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var sameYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
  var otherYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });

  function calendarDays(from, to) {
    // Midnight to midnight in the reader's zone; rounding absorbs a daylight-saving hour.
    var a = new Date(from.getFullYear(), from.getMonth(), from.getDate());
    var b = new Date(to.getFullYear(), to.getMonth(), to.getDate());
    return Math.round((b - a) / DAY);
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many) + " ago"; }

  // The same rule as the server's describe_age, so the text only changes when time has passed.
  function describe(moment, now) {
    var age = now - moment;
    if (age < MINUTE) return "just now";
    if (age < HOUR) return plural(Math.floor(age / MINUTE), "minute", "minutes");
    if (age < DAY) return plural(Math.floor(age / HOUR), "hour", "hours");
    if (calendarDays(moment, now) === 1) return "yesterday";
    return (moment.getFullYear() === now.getFullYear() ? sameYear : otherYear).format(moment);
  }

  function redrawTimes() {
    var now = new Date();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment)) return;
      el.textContent = describe(moment, now);
      el.title = exact.format(moment);
    });
  }

  // --- Highlighting a cited sentence in the body ---------------------------------------------

  function textNodes(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        return node.parentElement.closest(".ad-slot") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    return nodes;
  }

  // The body's text with runs of whitespace folded to one space, and where each character came from.
  var BLOCKS = "p, li, h2, h3, h4, h5, h6, blockquote, figcaption, td, th, pre";

  function flatten(nodes) {
    var text = "", origin = [], lastSpace = true, lastBlock = null;
    nodes.forEach(function (node) {
      var value = node.nodeValue, block = node.parentElement.closest(BLOCKS);
      // Two blocks read as two sentences: a space between them, even where the markup has none.
      if (block !== lastBlock && !lastSpace && origin.length) {
        text += " "; origin.push(origin[origin.length - 1]); lastSpace = true;
      }
      lastBlock = block;
      for (var i = 0; i < value.length; i++) {
        var space = /\s/.test(value[i]);
        if (space && lastSpace) continue;
        text += space ? " " : value[i];
        origin.push([node, i]);
        lastSpace = space;
      }
    });
    return { text: text, origin: origin };
  }

  function fold(text) { return text.replace(/\s+/g, " ").trim(); }

  function unmark(body) {
    body.querySelectorAll("mark.cited").forEach(function (mark) {
      var parent = mark.parentNode;
      while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
      parent.removeChild(mark);
      parent.normalize();
    });
  }

  function wrapPieces(start, end, origin) {
    // One <mark> per text node the sentence crosses, so no element is ever split in two.
    var pieces = [], first = null;
    for (var i = start; i < end; i++) {
      var node = origin[i][0], offset = origin[i][1];
      var last = pieces[pieces.length - 1];
      if (last && last.node === node) { last.end = offset + 1; } else { pieces.push({ node: node, start: offset, end: offset + 1 }); }
    }
    pieces.reverse().forEach(function (piece) {
      var range = document.createRange();
      range.setStart(piece.node, piece.start);
      range.setEnd(piece.node, Math.min(piece.end, piece.node.nodeValue.length));
      var mark = document.createElement("mark");
      mark.className = "cited";
      range.surroundContents(mark);
      first = mark;
    });
    return first;
  }

  function highlight(sentence) {
    var body = document.getElementById("story-body");
    if (!body) return false;
    unmark(body);
    var flat = flatten(textNodes(body));
    var needle = fold(sentence);
    var at = flat.text.indexOf(needle);
    if (at < 0) return false;
    var mark = wrapPieces(at, at + needle.length, flat.origin);
    if (!mark) return false;
    mark.tabIndex = -1;
    mark.scrollIntoView({ behavior: "smooth", block: "center" });
    mark.focus({ preventScroll: true });
    return true;
  }

  // --- The AI box ----------------------------------------------------------------------------

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function citationButton(index, sources, status) {
    var number = Number(index) + 1;
    var button = element("button", "citation", String(number));
    button.type = "button";
    button.setAttribute("aria-label", "Show sentence " + number + " in the article");
    button.addEventListener("click", function () {
      var sentence = sources[String(index)];
      var found = sentence && highlight(sentence);
      status.textContent = found ? "" : "That sentence is not in the part of the article shown here.";
    });
    return button;
  }

  function renderResult(output, data) {
    output.replaceChildren();
    var status = element("p", "ai-status");
    if (data.kind === "answer" && !data.found) {
      output.appendChild(element("p", "ai-unanswered", "The article does not say."));
      return;
    }
    var list = element(data.kind === "key_points" ? "ul" : "div", "ai-sentences");
    (data.sentences || []).forEach(function (item) {
      var line = element(list.tagName === "UL" ? "li" : "p", "ai-sentence", item.text + " ");
      (item.citations || []).forEach(function (index) {
        line.appendChild(citationButton(index, data.sources || {}, status));
      });
      list.appendChild(line);
    });
    output.appendChild(list);
    output.appendChild(status);
  }

  function showError(output, message) {
    output.replaceChildren(element("p", "ai-error", message));
  }

  function explain(response, body) {
    if (body && body.error) return body.error;
    if (response.status === 429) return "Too many requests just now; please try again in a minute.";
    if (response.status === 400) return "That question could not be asked; please rephrase it.";
    return "Sorry, this is not available right now.";
  }

  function load(output, request) {
    output.replaceChildren(element("p", "ai-status", "Working…"));
    output.setAttribute("aria-busy", "true");
    return request.then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body) renderResult(output, body); else showError(output, explain(response, body));
      });
    }).catch(function () {
      showError(output, "Could not reach the site; check the connection and try again.");
    }).finally(function () { output.removeAttribute("aria-busy"); });
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function ask(box, form, output) {
    var send = function () {
      return fetch(box.dataset.askUrl, {
        method: "POST", credentials: "same-origin", body: new FormData(form),
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
      });
    };
    // Cached pages carry no token; the cookie is set by a tiny endpoint just before asking.
    var ready = csrfToken() ? Promise.resolve() : fetch(box.dataset.csrfUrl, { credentials: "same-origin" });
    return load(output, ready.then(send));
  }

  function setUpAiBox() {
    var box = document.getElementById("ai-box");
    if (!box) return;
    var output = document.getElementById("ai-output");
    var urls = { "summary": box.dataset.summaryUrl, "key-points": box.dataset.keyPointsUrl };
    box.querySelectorAll("button[data-ai]").forEach(function (button) {
      button.addEventListener("click", function () {
        load(output, fetch(urls[button.dataset.ai], { credentials: "same-origin", headers: { "Accept": "application/json" } }));
      });
    });
    var form = document.getElementById("ai-ask");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(box, form, output);
    });
    box.classList.add("ai-ready");
  }

  function start() { redrawTimes(); setUpAiBox(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
