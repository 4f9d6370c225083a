/* Kizuna survey widget. Embed with one tag:
 *   <script src="https://<kizuna>/static/widget.js" data-survey="<slug>"
 *           data-user-id="…" data-user-hash="…" async></script>
 * data-user-hash is hex(HMAC-SHA256(widget secret, user id)), computed by
 * the site's server; without it the visitor answers anonymously.
 * No eval, no inline <style> or style="" markup (only CSSOM), no cookies:
 * it runs under a strict Content-Security-Policy that allows this script's
 * origin in script-src and connect-src. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.dataset.survey) { return; }
  var origin = new URL(script.src).origin;
  var slug = script.dataset.survey;
  var userId = script.dataset.userId || '';
  var userHash = script.dataset.userHash || '';
  var locale = script.dataset.locale || (navigator.language || 'en').slice(0, 2);
  var endpoint = origin + '/w/' + encodeURIComponent(slug);
  var state = null, root = null, box = null;

  function css(el, rules) { for (var k in rules) { el.style[k] = rules[k]; } return el; }
  function el(tag, rules, text) {
    var e = document.createElement(tag);
    if (rules) { css(e, rules); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  var btn = { font: 'inherit', padding: '.5rem .75rem', border: '1px solid #d0d7de', borderRadius: '.5rem',
    background: '#fff', cursor: 'pointer', minWidth: '2.5rem' };
  var primary = { font: 'inherit', fontWeight: '600', padding: '.6rem 1rem', border: '0', borderRadius: '.5rem',
    background: '#3b5bdb', color: '#fff', cursor: 'pointer', width: '100%', marginTop: '.75rem' };

  function mount() {
    var host = el('div');
    host.id = 'kizuna-survey-widget';
    css(host, { position: 'fixed', right: '1rem', bottom: '1rem', zIndex: '2147483000', maxWidth: 'calc(100vw - 2rem)' });
    document.body.appendChild(host);
    root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    box = el('section', { width: '22rem', maxWidth: '100%', background: '#fff', color: '#1f2328', borderRadius: '.75rem',
      boxShadow: '0 8px 24px rgba(0,0,0,.18)', padding: '1rem', font: '15px/1.5 system-ui,-apple-system,sans-serif' });
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-label', state.form.name);
    var close = el('button', btn, '×');
    css(close, { float: 'right', border: '0', minWidth: '0', padding: '0 .25rem', fontSize: '1.25rem' });
    close.setAttribute('aria-label', 'Close');
    close.className = 'kz-close';
    close.addEventListener('click', function () { host.remove(); });
    box.appendChild(close);
    root.appendChild(box);
  }

  function clear() { while (box.childNodes.length > 1) { box.removeChild(box.lastChild); } }

  function visible(q) { return state.visible ? !!state.visible[q.key] : !q.conditional; }

  function render(pageKey, error) {
    clear();
    var page = null;
    state.form.pages.forEach(function (p) { if (p.key === pageKey) { page = p; } });
    if (!page) { return; }
    state.page = page;
    state.answers = {};
    box.appendChild(el('h2', { fontSize: '1rem', margin: '0 0 .5rem' }, page.title || state.form.name));
    if (error) { box.appendChild(el('p', { color: '#d1242f', margin: '0 0 .5rem' }, error)); }
    page.questions.filter(visible).forEach(function (q) {
      var wrap = el('div', { margin: '0 0 1rem' });
      wrap.className = 'kz-q';
      wrap.dataset.question = q.key;
      wrap.appendChild(el('p', { fontWeight: '600', margin: '0 0 .4rem' }, q.text));
      if (q.points && q.type !== 'expectation') {
        var row = el('div', { display: 'flex', flexWrap: 'wrap', gap: '.25rem' });
        q.points.forEach(function (pt) {
          var b = el('button', btn, String(pt.value));
          b.type = 'button';
          b.value = String(pt.value);
          if (pt.label) { b.title = pt.label; }
          b.addEventListener('click', function () {
            Array.prototype.forEach.call(row.children, function (c) { css(c, { background: '#fff', color: '#1f2328' }); c.setAttribute('aria-pressed', 'false'); });
            css(b, { background: '#3b5bdb', color: '#fff' });
            b.setAttribute('aria-pressed', 'true');
            state.answers[q.key] = [{ question: q.key, num: pt.value }];
          });
          row.appendChild(b);
        });
        wrap.appendChild(row);
        if (q.min_label || q.max_label) {
          var ends = el('div', { display: 'flex', justifyContent: 'space-between', fontSize: '.8rem', color: '#57606a' });
          ends.appendChild(el('span', null, q.min_label || ''));
          ends.appendChild(el('span', null, q.max_label || ''));
          wrap.appendChild(ends);
        }
      } else if (q.type === 'single' || q.type === 'multi') {
        (q.options || []).forEach(function (o) {
          var l = el('label', { display: 'block', padding: '.25rem 0' });
          var i = el('input');
          i.type = q.type === 'single' ? 'radio' : 'checkbox';
          i.name = 'kz-' + q.key;
          i.value = o.key;
          i.addEventListener('change', function () {
            var picked = Array.prototype.filter.call(wrap.querySelectorAll('input'), function (x) { return x.checked; })
              .map(function (x) { return x.value; });
            if (!picked.length) { delete state.answers[q.key]; return; }
            state.answers[q.key] = [{ question: q.key, text: q.type === 'single' ? picked[0] : JSON.stringify(picked) }];
          });
          l.appendChild(i);
          l.appendChild(document.createTextNode(' ' + o.text));
          wrap.appendChild(l);
        });
      } else if (q.type === 'expectation') {
        (q.attributes || []).forEach(function (a) {
          var line = el('div', { display: 'flex', gap: '.25rem', alignItems: 'center', margin: '.25rem 0' });
          line.appendChild(el('span', { flex: '1' }, a.text));
          var pick = {};
          ['num', 'num2'].forEach(function (f) {
            var s = el('select', { font: 'inherit' });
            s.name = 'kz-' + q.key + '-' + a.key + '-' + f;
            s.appendChild(el('option', null, ''));
            q.points.forEach(function (pt) { var o = el('option', null, String(pt.value)); o.value = String(pt.value); s.appendChild(o); });
            s.addEventListener('change', function () {
              pick[f] = s.value === '' ? undefined : Number(s.value);
              var list = (state.answers[q.key] || []).filter(function (x) { return x.attribute !== a.key; });
              if (pick.num !== undefined || pick.num2 !== undefined) { list.push({ question: q.key, attribute: a.key, num: pick.num, num2: pick.num2 }); }
              state.answers[q.key] = list;
            });
            line.appendChild(s);
          });
          wrap.appendChild(line);
        });
      } else {
        var t = el('textarea', { width: '100%', font: 'inherit', boxSizing: 'border-box' });
        t.rows = 3;
        t.maxLength = 5000;
        t.name = 'kz-' + q.key;
        t.addEventListener('input', function () {
          if (t.value.trim()) { state.answers[q.key] = [{ question: q.key, text: t.value.trim() }]; } else { delete state.answers[q.key]; }
        });
        wrap.appendChild(t);
      }
      box.appendChild(wrap);
    });
    var send = el('button', primary, state.form.locale === 'ja' ? '送信' : 'Send');
    send.type = 'button';
    send.className = 'kz-send';
    send.addEventListener('click', submit);
    box.appendChild(send);
  }

  function submit() {
    var answers = [];
    Object.keys(state.answers).forEach(function (k) { answers = answers.concat(state.answers[k]); });
    var body = { client_key: state.clientKey, opened: state.opened, user_id: userId, user_hash: userHash,
      locale: state.form.locale, page: state.page.key, answers: answers };
    // text/plain keeps this a CORS simple request: no preflight.
    fetch(endpoint, { method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { render(state.page.key, (res.j.error && res.j.error.message) || 'Error'); return; }
        if (res.j.completed) {
          clear();
          var done = el('p', { margin: '.5rem 0' }, res.j.thank_you);
          done.className = 'kz-thanks';
          done.setAttribute('role', 'status');
          box.appendChild(done);
          return;
        }
        state.visible = res.j.visible;
        render(res.j.next_page);
      })
      .catch(function () { render(state.page.key, 'Network error'); });
  }

  function start() {
    var q = '?lang=' + encodeURIComponent(locale) + (userId ? '&user_id=' + encodeURIComponent(userId) + '&user_hash=' + encodeURIComponent(userHash) : '');
    fetch(endpoint + q, { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.form || !j.form.pages.length) { return; } // not for this visitor (answered, closed …): show nothing
        state = { form: j.form, clientKey: j.client_key, opened: j.opened, visible: null };
        mount();
        var first = j.form.pages.filter(function (p) { return !p.conditional; })[0] || j.form.pages[0];
        render(first.key);
      })
      .catch(function () {});
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
}());
