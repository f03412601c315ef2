/* Reviewer features of the self-contained HTML (pandoc fallback path), the equivalents of
   Quarto's toc-location, crossrefs-hover, lightbox and light/dark theme. Inlined into the
   page by the renderer: no library, no request to any network. */
(function () {
  "use strict";
  var root = document.documentElement;
  var KEY = "rednote-analysis-theme";

  // --- Light/dark theme -----------------------------------------------------------------
  function storedTheme() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function setTheme(theme, remember) {
    root.setAttribute("data-theme", theme);
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.textContent = theme === "dark" ? "\u2600 Light" : "\u263E Dark";
      button.setAttribute("aria-label", "Switch to the " +
        (theme === "dark" ? "light" : "dark") + " theme");
    }
    if (remember) { try { window.localStorage.setItem(KEY, theme); } catch (e) { /* file:// */ } }
  }
  var toggle = document.createElement("button");
  toggle.id = "theme-toggle";
  toggle.type = "button";
  document.body.insertBefore(toggle, document.body.firstChild);
  var prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  setTheme(storedTheme() || (prefersDark ? "dark" : "light"), false);
  toggle.addEventListener("click", function () {
    setTheme(root.getAttribute("data-theme") === "dark" ? "light" : "dark", true);
  });

  // --- Table of contents that follows the scroll ------------------------------------------
  var toc = document.getElementById("TOC");
  var tocLinks = toc ? Array.prototype.slice.call(toc.querySelectorAll('a[href^="#"]')) : [];
  var targets = tocLinks.map(function (a) {
    return document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
  });
  var active = null;
  function followScroll() {
    var current = -1;
    for (var i = 0; i < targets.length; i++) {
      if (targets[i] && targets[i].getBoundingClientRect().top <= 90) { current = i; }
    }
    if (current < 0 && targets.length) { current = 0; }
    var link = tocLinks[current] || null;
    if (link === active) { return; }
    if (active) { active.classList.remove("active"); active.removeAttribute("aria-current"); }
    active = link;
    if (!link) { return; }
    link.classList.add("active");
    link.setAttribute("aria-current", "location");
    // keep the active entry visible inside a TOC taller than the window
    var box = toc.getBoundingClientRect(), at = link.getBoundingClientRect();
    if (toc.scrollHeight > toc.clientHeight && (at.top < box.top || at.bottom > box.bottom)) {
      toc.scrollTop += at.top - box.top - box.height / 3;
    }
  }
  if (tocLinks.length) {
    var pending = false;
    window.addEventListener("scroll", function () {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () { pending = false; followScroll(); });
    }, { passive: true });
    window.addEventListener("hashchange", followScroll);
    followScroll();
  }

  // --- Previews of cross-references on hover ---------------------------------------------
  var preview = null;
  function stripIds(node) {
    if (node.removeAttribute) { node.removeAttribute("id"); }
    var all = node.querySelectorAll ? node.querySelectorAll("[id]") : [];
    for (var i = 0; i < all.length; i++) { all[i].removeAttribute("id"); }
    return node;
  }
  function previewContent(target) {
    var box = document.createElement("div");
    if (/^H[1-6]$/.test(target.tagName)) {
      box.appendChild(stripIds(target.cloneNode(true)));
      var next = target.nextElementSibling;
      while (next && next.tagName !== "P" && !/^H[1-6]$/.test(next.tagName)) {
        next = next.nextElementSibling;
      }
      if (next && next.tagName === "P") { box.appendChild(stripIds(next.cloneNode(true))); }
    } else {
      box.appendChild(stripIds(target.cloneNode(true)));
    }
    return box;
  }
  function hidePreview() {
    if (preview) { preview.remove(); preview = null; }
  }
  function showPreview(link) {
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    var target = document.getElementById(id);
    if (!target) { return; }
    hidePreview();
    preview = previewContent(target);
    preview.className = "xref-preview";
    preview.setAttribute("role", "tooltip");
    document.body.appendChild(preview);
    var r = link.getBoundingClientRect();
    var left = Math.max(8, Math.min(window.scrollX + r.left,
      window.scrollX + document.documentElement.clientWidth - preview.offsetWidth - 8));
    var top = window.scrollY + r.bottom + 6;
    if (r.bottom + preview.offsetHeight + 12 > window.innerHeight && r.top > preview.offsetHeight + 12) {
      top = window.scrollY + r.top - preview.offsetHeight - 6;
    }
    preview.style.left = left + "px";
    preview.style.top = top + "px";
  }
  var xrefs = document.querySelectorAll('a[href^="#fig-"], a[href^="#tbl-"], a[href^="#sec-"]');
  Array.prototype.forEach.call(xrefs, function (link) {
    if (toc && toc.contains(link)) { return; }
    link.classList.add("xref");
    link.addEventListener("mouseenter", function () { showPreview(link); });
    link.addEventListener("focus", function () { showPreview(link); });
    link.addEventListener("mouseleave", hidePreview);
    link.addEventListener("blur", hidePreview);
  });

  // --- Lightbox for figures ----------------------------------------------------------------
  function closeLightbox() {
    var box = document.getElementById("lightbox");
    if (box) { box.remove(); }
  }
  function openLightbox(img) {
    closeLightbox();
    var box = document.createElement("div");
    box.id = "lightbox";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", "Enlarged figure (click or press Escape to close)");
    var big = document.createElement("img");
    big.src = img.src;
    big.alt = img.alt || "";
    box.appendChild(big);
    var figure = img.closest("figure");
    var caption = figure && figure.querySelector("figcaption");
    if (caption) {
      var text = document.createElement("div");
      text.className = "lightbox-caption";
      text.textContent = caption.textContent;
      box.appendChild(text);
    }
    box.addEventListener("click", closeLightbox);
    document.body.appendChild(box);
  }
  Array.prototype.forEach.call(document.querySelectorAll("figure img"), function (img) {
    if (img.closest(".xref-preview")) { return; }
    img.setAttribute("tabindex", "0");
    img.setAttribute("title", "Click to enlarge");
    img.addEventListener("click", function () { openLightbox(img); });
    img.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openLightbox(img); }
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { closeLightbox(); hidePreview(); }
  });
})();
