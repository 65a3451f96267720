/* Panning and zooming of the server-drawn tie map, with a mouse, a pen or fingers.
 *
 * Pointer events cover all three: one pointer drags the map, two pinch it,
 * the wheel and the buttons zoom. Only the SVG's viewBox changes, so the
 * page's Content-Security-Policy (no inline style or script) is untouched,
 * and without this script the whole map is still shown. */
(function () {
  "use strict";

  var MIN_SCALE = 0.5;   // zoomed out: twice the drawing's extent
  var MAX_SCALE = 8;     // zoomed in: an eighth of it
  var PHONE_WIDTH = 520; // pixels: below this the map opens zoomed in
  var PHONE_ZOOM = 1.6;

  function parseBox(text) {
    var p = text.split(/[\s,]+/).map(Number);
    return { x: p[0], y: p[1], w: p[2], h: p[3] };
  }

  function setUp(svg) {
    var home = parseBox(svg.getAttribute("data-viewbox") || svg.getAttribute("viewBox"));
    var box = { x: home.x, y: home.y, w: home.w, h: home.h };
    var pointers = new Map();
    var pinch = null;
    var moved = false;

    function apply() {
      svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].map(function (v) {
        return v.toFixed(1);
      }).join(" "));
      svg.setAttribute("data-scale", (home.w / box.w).toFixed(3));
    }

    // Drawing units per screen pixel: the picture keeps its aspect ratio.
    function unitsPerPixel() {
      var rect = svg.getBoundingClientRect();
      return Math.max(box.w / rect.width, box.h / rect.height);
    }

    // The drawing's point under a screen point.
    function toDrawing(clientX, clientY) {
      var rect = svg.getBoundingClientRect();
      var k = unitsPerPixel();
      var cx = box.x + box.w / 2, cy = box.y + box.h / 2;
      return {
        x: cx + (clientX - (rect.left + rect.width / 2)) * k,
        y: cy + (clientY - (rect.top + rect.height / 2)) * k
      };
    }

    // Zoom by ``factor`` keeping the drawing's point ``at`` where it is.
    function zoom(factor, at) {
      var scale = home.w / (box.w / factor);
      if (scale < MIN_SCALE) { factor = box.w / (home.w / MIN_SCALE); }
      if (scale > MAX_SCALE) { factor = box.w / (home.w / MAX_SCALE); }
      at = at || { x: box.x + box.w / 2, y: box.y + box.h / 2 };
      box.x = at.x - (at.x - box.x) / factor;
      box.y = at.y - (at.y - box.y) / factor;
      box.w = box.w / factor;
      box.h = box.h / factor;
      apply();
    }

    function pan(dxPixels, dyPixels) {
      var k = unitsPerPixel();
      box.x -= dxPixels * k;
      box.y -= dyPixels * k;
      apply();
    }

    function pinchState() {
      var pts = Array.from(pointers.values());
      return {
        distance: Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y),
        mid: { x: (pts[0].x + pts[1].x) / 2, y: (pts[0].y + pts[1].y) / 2 }
      };
    }

    svg.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) { return; }
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      moved = false;
      if (pointers.size === 2) { pinch = pinchState(); }
    });

    svg.addEventListener("pointermove", function (event) {
      var last = pointers.get(event.pointerId);
      if (!last) { return; }
      var now = { x: event.clientX, y: event.clientY };
      if (pointers.size === 1) {
        if (!moved && Math.hypot(now.x - last.x, now.y - last.y) < 4) { return; }
        if (!moved && svg.setPointerCapture) {
          try { svg.setPointerCapture(event.pointerId); } catch (e) { /* synthetic pointer */ }
        }
        moved = true;
        pan(now.x - last.x, now.y - last.y);
        pointers.set(event.pointerId, now);
      } else if (pointers.size === 2) {
        pointers.set(event.pointerId, now);
        var next = pinchState();
        if (pinch && pinch.distance > 0) {
          moved = true;
          pan(next.mid.x - pinch.mid.x, next.mid.y - pinch.mid.y);
          zoom(next.distance / pinch.distance, toDrawing(next.mid.x, next.mid.y));
        }
        pinch = next;
      }
    });

    function release(event) {
      pointers.delete(event.pointerId);
      pinch = pointers.size === 2 ? pinchState() : null;
    }
    svg.addEventListener("pointerup", release);
    svg.addEventListener("pointercancel", release);
    svg.addEventListener("pointerleave", function (event) {
      if (event.pointerType === "mouse") { release(event); }
    });

    // A drag that ends on a name must not follow its link.
    svg.addEventListener("click", function (event) {
      if (moved) { event.preventDefault(); moved = false; }
    }, true);

    svg.addEventListener("wheel", function (event) {
      event.preventDefault();
      zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, toDrawing(event.clientX, event.clientY));
    }, { passive: false });

    // The keyboard too: arrows move the map, + and - zoom, 0 shows the whole map.
    svg.setAttribute("tabindex", "0");
    svg.addEventListener("keydown", function (event) {
      if (event.target !== svg) { return; }  // a focused name keeps its own keys
      var step = 40;
      var moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) { pan(moves[event.key][0], moves[event.key][1]); }
      else if (event.key === "+" || event.key === "=") { zoom(1.5); }
      else if (event.key === "-") { zoom(1 / 1.5); }
      else if (event.key === "0") { box = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); }
      else { return; }
      event.preventDefault();
    });

    var frame = svg.closest(".tiemap-frame");
    var controls = frame && frame.querySelector(".tiemap-controls");
    if (controls) {
      controls.hidden = false;
      controls.addEventListener("click", function (event) {
        var button = event.target.closest("button[data-zoom]");
        if (!button) { return; }
        var what = button.getAttribute("data-zoom");
        if (what === "in") { zoom(1.5); }
        else if (what === "out") { zoom(1 / 1.5); }
        else { box = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); }
      });
    }
    svg.classList.add("pannable");
    // On a phone the whole map is too small to read: start closer in, on the
    // entity in the middle of the drawing (its origin), in a square frame.
    if (svg.getBoundingClientRect().width < PHONE_WIDTH) {
      var side = Math.min(home.w, home.h * 1.6) / PHONE_ZOOM;
      box = { x: -side / 2, y: -side / 2, w: side, h: side };
      apply();
    }
  }

  function start() {
    document.querySelectorAll("svg.tiemap").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
