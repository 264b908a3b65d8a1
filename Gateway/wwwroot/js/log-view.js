// The message log panel: messages with their name, time, verified mark, "(edited)" and reactions, the
// system and error lines, and the controls a message offers (edit, delete, ban, react). It keeps the view
// at the bottom while the user is there and keeps their place when older messages arrive on top. All
// user-provided text goes in with textContent, never as HTML.

export const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
const STICK_THRESHOLD_PX = 40; // "at the bottom" tolerance for the scroll position
const NAME_COLORS = 8;         // .name-color-0 … .name-color-7 in chat.css

export class LogView {
  /**
   * @param {HTMLElement} element  the log (role="log", aria-live="polite")
   * @param {object} actions  the callbacks and rules the controls need: canEdit(user), canDelete(user),
   *   canBan(user), isOwn(name, user), onEdit(timestamp, text), onDelete(timestamp), onBan(user, name),
   *   onReact(timestamp, emoji), onNearTop()
   */
  constructor(element, actions) {
    this.element = element;
    this.actions = actions;
    this.stickToBottom = true;
    this.mine = new Set(); // "timestamp emoji" pairs this page toggled on
    element.addEventListener('scroll', () => {
      const { scrollHeight, scrollTop, clientHeight } = element;
      this.stickToBottom = scrollHeight - scrollTop - clientHeight < STICK_THRESHOLD_PX;
      if (scrollTop < STICK_THRESHOLD_PX) actions.onNearTop();
    });
    // The log also shrinks (phone keyboard, window resize): keep the bottom in view then too.
    if ('ResizeObserver' in window) new ResizeObserver(() => { if (this.stickToBottom) this.scrollToBottom(); }).observe(element);
    // One menu of reactions open at a time; Escape or a click elsewhere closes it.
    document.addEventListener('click', (event) => { if (!event.target.closest?.('.reactions')) this.closePickers(); });
    element.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.closePickers(true); });
  }

  clear() {
    this.element.replaceChildren();
    this.mine.clear();
    this.stickToBottom = true;
  }

  /** A chat message at the end of the log. */
  add(message) {
    this.append(this.render(message));
  }

  /** Older messages on top, keeping the user's place (the content above grows by the height added). */
  prepend(messages) {
    const fragment = document.createDocumentFragment();
    for (const message of messages) fragment.append(this.render(message));
    const fromBottom = this.element.scrollHeight - this.element.scrollTop;
    this.element.prepend(fragment);
    this.element.scrollTop = this.element.scrollHeight - fromBottom;
  }

  system(text) {
    const line = document.createElement('div');
    line.className = 'system';
    line.textContent = text;
    this.append(line);
    return line;
  }

  error(text, extraClass) {
    const line = document.createElement('div');
    line.className = 'error';
    if (extraClass) line.classList.add(extraClass);
    line.setAttribute('role', 'alert');
    line.textContent = text;
    this.append(line);
    return line;
  }

  /** Moves a line (the folded rate-limit one) to the end again. */
  moveToEnd(line) {
    if (line !== this.element.lastElementChild) this.append(line);
  }

  get last() { return this.element.lastElementChild; }

  deleted(timestamp) {
    this.find(timestamp)?.remove();
  }

  edited(timestamp, text, editedAt) {
    const item = this.find(timestamp);
    if (!item) return;
    item.querySelector('.message-text').textContent = text;
    item.dataset.text = text;
    this.markEdited(item, editedAt);
  }

  reactions(timestamp, counts) {
    const item = this.find(timestamp);
    if (item) this.renderReactions(item, counts);
  }

  /** The newest message of this user shown (for the Up arrow), or null. */
  lastOwn() {
    const own = this.element.querySelectorAll('.message.own.editable');
    const item = own[own.length - 1];
    return item ? { timestamp: Number(item.dataset.timestamp), text: item.dataset.text } : null;
  }

  scrollToBottom() {
    this.element.scrollTop = this.element.scrollHeight;
  }

  find(timestamp) {
    return this.element.querySelector(`.message[data-timestamp="${Number(timestamp)}"]`);
  }

  append(node) {
    this.element.append(node);
    if (this.stickToBottom) this.scrollToBottom();
  }

  render({ name, message, timestamp, user, editedAt, reactions }) {
    const { actions } = this;
    const verified = user !== undefined;
    const item = document.createElement('article');
    item.className = 'message';
    item.dataset.timestamp = String(timestamp);
    item.dataset.text = message;
    if (actions.isOwn(name, user)) item.classList.add('own');

    const header = document.createElement('div');
    header.className = 'message-header';
    const nameEl = document.createElement('span');
    nameEl.className = 'message-name name-color-' + colorIndex(name);
    nameEl.textContent = name;
    header.append(nameEl);
    if (verified) header.append(verifiedMark(user));
    header.append(timeOf(timestamp));
    const tools = document.createElement('span');
    tools.className = 'message-tools';
    if (actions.canEdit(user)) {
      item.classList.add('editable');
      tools.append(actionButton('Edit', 'Edit this message', () => actions.onEdit(timestamp, item.dataset.text)));
    }
    if (actions.canDelete(user)) tools.append(actionButton('Delete', 'Delete this message', () => actions.onDelete(timestamp)));
    if (verified && actions.canBan(user)) tools.append(actionButton('Ban', `Ban ${name} from this room`, () => actions.onBan(user, name)));
    header.append(tools);

    const body = document.createElement('div');
    body.className = 'message-text';
    body.textContent = message;
    item.append(header, body);
    if (editedAt !== undefined) this.markEdited(item, editedAt);
    this.renderReactions(item, reactions ?? []);
    return item;
  }

  markEdited(item, editedAt) {
    let mark = item.querySelector('.edited');
    if (!mark) {
      mark = document.createElement('span');
      mark.className = 'edited';
      mark.textContent = '(edited)';
      item.querySelector('.message-time').after(mark);
    }
    mark.title = 'Edited ' + new Date(editedAt).toLocaleString();
  }

  /** The counts under a message as toggle buttons, and the button that opens the reaction menu. */
  renderReactions(item, counts) {
    if (!this.actions.canReact()) return;
    const timestamp = Number(item.dataset.timestamp);
    let bar = item.querySelector('.reactions');
    if (!bar) {
      bar = document.createElement('div');
      bar.className = 'reactions';
      item.append(bar);
    }

    const buttons = counts.map(([emoji, count]) => {
      const mine = this.mine.has(`${timestamp} ${emoji}`);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'reaction';
      button.setAttribute('aria-pressed', String(mine));
      // Named by its visible content (the emoji and the count); aria-pressed says whether it is yours.
      button.title = `${count} ${count === 1 ? 'reaction' : 'reactions'}; press to ${mine ? 'take yours back' : 'add yours'}`;
      const glyph = document.createElement('span');
      glyph.className = 'emoji';
      glyph.textContent = emoji;
      const number = document.createElement('span');
      number.className = 'reaction-count';
      number.textContent = String(count);
      button.append(glyph, number);
      button.addEventListener('click', () => this.toggle(timestamp, emoji));
      return button;
    });

    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'react-button';
    add.textContent = '☺+';
    add.setAttribute('aria-label', 'Add a reaction');
    add.setAttribute('aria-haspopup', 'true');
    add.setAttribute('aria-expanded', 'false');
    const picker = document.createElement('div');
    picker.className = 'picker';
    picker.setAttribute('role', 'group');
    picker.setAttribute('aria-label', 'Reactions');
    picker.hidden = true;
    for (const emoji of REACTIONS) {
      const choice = document.createElement('button');
      choice.type = 'button';
      choice.className = 'pick';
      choice.textContent = emoji;
      choice.setAttribute('aria-label', `React with ${emoji}`);
      choice.addEventListener('click', () => { this.closePickers(); this.toggle(timestamp, emoji); });
      picker.append(choice);
    }
    add.addEventListener('click', () => {
      const open = picker.hidden;
      this.closePickers();
      picker.hidden = !open;
      add.setAttribute('aria-expanded', String(open));
      if (open) picker.querySelector('button').focus();
    });
    bar.classList.toggle('empty', counts.length === 0);
    bar.replaceChildren(...buttons, add, picker);
  }

  toggle(timestamp, emoji) {
    const key = `${timestamp} ${emoji}`;
    if (this.mine.has(key)) this.mine.delete(key); else this.mine.add(key);
    this.actions.onReact(timestamp, emoji);
  }

  closePickers(focusOpener) {
    for (const picker of this.element.querySelectorAll('.picker:not([hidden])')) {
      picker.hidden = true;
      const opener = picker.previousElementSibling;
      opener?.setAttribute('aria-expanded', 'false');
      if (focusOpener) opener?.focus();
    }
  }
}

export function verifiedMark(user) {
  const mark = document.createElement('span');
  mark.className = 'verified';
  mark.textContent = '✓';
  mark.title = 'Signed in as ' + user;
  mark.setAttribute('aria-label', 'verified');
  return mark;
}

export function actionButton(label, title, onClick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'message-action';
  button.textContent = label;
  button.title = title;
  button.addEventListener('click', onClick);
  return button;
}

export function colorIndex(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % NAME_COLORS;
}

function timeOf(timestamp) {
  const date = new Date(timestamp);
  const time = document.createElement('time');
  time.className = 'message-time';
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = String(date.getHours()).padStart(2, '0') + ':' + String(date.getMinutes()).padStart(2, '0');
  return time;
}
