// skinsite's service worker. POLICY, written above by skinsite.pwa.views.service_worker, is the
// one list of what it may cache (skinsite.pwa.shell): the static shell and the offline page.
// It writes to its cache only here, at install: every other response, above all photos,
// results and the pages of a signed-in person, goes from the network to the page untouched.
"use strict";

const SHELL = new Set(POLICY.shell);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(POLICY.cache)
      .then((cache) => cache.addAll(POLICY.shell))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  // An older deploy's shell: deleted, so a phone never keeps files the site no longer serves.
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names
          .filter((name) => name.startsWith(POLICY.cachePrefix) && name !== POLICY.cache)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Uploads (POST), other sites and anything outside the shell: the browser's own handling.
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (SHELL.has(url.pathname) && url.search === "") {
    event.respondWith(
      caches.open(POLICY.cache)
        .then((cache) => cache.match(request, { ignoreVary: true }))
        .then((hit) => hit || fetch(request))
    );
    return;
  }
  if (request.mode === "navigate") {
    // Pages always come from the network; only a failed one (offline) gets the offline page.
    event.respondWith(
      fetch(request).catch(() =>
        caches.open(POLICY.cache)
          .then((cache) => cache.match(POLICY.offline, { ignoreVary: true }))
          .then((page) => page || Response.error())
      )
    );
  }
});
