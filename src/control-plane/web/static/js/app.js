// Entry point of the page: sign-in with an application key, who is signed in, which view to show
// (the list at /, a runner at /runners/:id), and what a refused key looks like.
import { ApiError, forgetKey, optionalApi, storeKey, storedKey } from './api.js';
import { replaceChildren } from './dom.js';
import { showRunnerDetail } from './runner-detail.js';
import { showRunnerList } from './runner-list.js';

const $ = (id) => document.getElementById(id);
const view = $('view');
const banner = $('banner');

function showBanner(kind, message) {
  banner.className = `banner ${kind}`;
  banner.textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
}

function showSignIn(message) {
  $('signin-message').textContent = message ?? 'Enter an application key. It is kept in this browser tab only (session storage) and sent as the DD-APPLICATION-KEY header.';
  $('signin').hidden = false;
  $('app-key').value = '';
  $('app-key').focus();
}

/**
 * Every refusal ends here. A wrong key is forgotten and asked for again; a key that lacks a
 * permission keeps the page, says why, and offers to sign in with another key.
 */
function fail(err) {
  const error = err instanceof ApiError ? err : new ApiError(0, 'PAGE', String(err?.message ?? err));
  if (error.badKey) {
    forgetKey();
    $('who').hidden = true;
    replaceChildren(view);
    showBanner('error', `The application key was refused: ${error.message} (${error.code}).`);
    showSignIn('Enter a valid application key.');
  } else if (error.forbidden) {
    showBanner('error', `Not allowed: ${error.message} (${error.code}).`);
    showSignIn('This key may not do that. Sign in with another key, or carry on with this one.');
  } else {
    showBanner('error', `${error.message} (${error.code})`);
  }
}

function notify(message) {
  showBanner('info', message);
}

/** Without /me (older control planes) the page shows every control; the API still decides. */
function capabilities(me) {
  const scopes = new Set(me?.scopes ?? []);
  const roles = new Set(me?.roles ?? []);
  const writer = me === undefined || scopes.has('on_prem_runner_write');
  return {
    createRunner: writer && (me === undefined || roles.has('admin') || roles.has('standard')),
    editRunner: (runner) => writer && (runner.access === undefined ? me === undefined || roles.has('admin') : runner.access === 'editor'),
  };
}

function showWho(me) {
  if (!me) {
    $('who-name').textContent = 'Signed in';
  } else {
    const roles = me.roles.length > 0 ? ` (${me.roles.join(', ')})` : '';
    $('who-name').textContent = `${me.principal.name}${roles}`;
  }
  $('who').hidden = false;
}

async function load() {
  hideBanner();
  $('signin').hidden = true;
  let me;
  try {
    me = await optionalApi('GET', '/me');
  } catch (err) {
    return fail(err);
  }
  showWho(me);
  const ctx = { me, can: capabilities(me), fail, notify };
  const match = /^\/runners\/([^/]+)\/?$/.exec(location.pathname);
  if (match) await showRunnerDetail(view, ctx, decodeURIComponent(match[1]));
  else await showRunnerList(view, ctx);
}

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('app-key').value.trim();
  if (key.length === 0) return;
  storeKey(key);
  $('app-key').value = '';
  void load();
});

$('sign-out').addEventListener('click', () => {
  forgetKey();
  $('who').hidden = true;
  replaceChildren(view);
  hideBanner();
  showSignIn('Signed out. The key was removed from this tab.');
});

if (storedKey()) void load();
else showSignIn();
