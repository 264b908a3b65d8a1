// Who the user is on this page: the sign-in token (PROTOCOL.md, "Identity"), kept in this tab only, and
// what its claims allow the page to show. The server checks every token; the page only reads the claims
// to decide which controls to offer.

const STORAGE_KEY = 'chat.token';

export class Identity {
  constructor() {
    this.token = null;
    this.claims = null; // {sub, name, role, rooms}
    try { this.set(sessionStorage.getItem(STORAGE_KEY)); } catch { /* storage may be disabled */ }
  }

  set(token) {
    this.token = token || null;
    this.claims = token ? readClaims(token) : null;
    try {
      if (token) sessionStorage.setItem(STORAGE_KEY, token); else sessionStorage.removeItem(STORAGE_KEY);
    } catch { /* storage may be disabled */ }
  }

  /** The verified user id, or undefined for an anonymous page. */
  get user() { return this.claims?.sub; }

  /** The token's display name, which the server announces instead of the typed one. */
  get name() { return typeof this.claims?.name === 'string' && this.claims.name ? this.claims.name : null; }

  isMe(user) { return user !== undefined && user === this.user; }

  /** Moderators act in the rooms their token may join; admins everywhere. */
  mayModerate(room) {
    const c = this.claims;
    if (!c) return false;
    if (c.role === 'admin') return true;
    return c.role === 'moderator' && (!Array.isArray(c.rooms) || c.rooms.includes('*') || c.rooms.includes(room));
  }

  /** #token=… (alone, or after the room as #room&token=…) signs in, and leaves the address bar at once. */
  takeFromHash() {
    const match = /(^#|&)token=([^&]*)/.exec(location.hash);
    if (!match) return;
    this.set(decodeURIComponent(match[2]));
    const rest = location.hash.slice(1).replace(/(^|&)token=[^&]*/, '').replace(/^&/, '');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
}

function readClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(escape(atob(part)));
    const claims = JSON.parse(json);
    return claims && typeof claims.sub === 'string' ? claims : null;
  } catch {
    return null;
  }
}
