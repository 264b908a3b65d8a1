// The message box: Enter sends; typing sends a hint now and then; and it edits one's own messages: the
// Edit control on a message, or the Up arrow in an empty box for the last one, puts its text in the box
// (Enter saves, Escape cancels), as in most chats.

export class Composer {
  /**
   * @param {{form: HTMLFormElement, input: HTMLInputElement, editing: HTMLElement, send: HTMLButtonElement}} ui
   * @param {object} actions  onSend(text), onEdit(timestamp, text), onTyping(), lastOwn() → {timestamp, text} | null
   */
  constructor(ui, actions) {
    this.ui = ui;
    this.actions = actions;
    this.editing = null; // the timestamp of the message being edited
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = ui.input.value;
      if (!text.trim()) return;
      if (this.editing !== null) {
        actions.onEdit(this.editing, text);
        this.stopEditing();
      } else {
        ui.input.value = '';
        actions.onSend(text);
      }
    });
    ui.input.addEventListener('input', () => { if (ui.input.value && this.editing === null) actions.onTyping(); });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowUp' && !ui.input.value && this.editing === null) {
        const last = actions.lastOwn();
        if (last) {
          event.preventDefault();
          this.edit(last.timestamp, last.text);
        }
      } else if (event.key === 'Escape' && this.editing !== null) {
        event.preventDefault();
        this.stopEditing();
      }
    });
  }

  /** Puts a message's text in the box for editing. */
  edit(timestamp, text) {
    this.editing = timestamp;
    this.ui.input.value = text;
    this.ui.editing.hidden = false;
    this.ui.send.textContent = 'Save';
    this.ui.form.classList.add('is-editing');
    this.ui.input.focus();
    this.ui.input.setSelectionRange(text.length, text.length);
  }

  stopEditing() {
    this.editing = null;
    this.ui.input.value = '';
    this.ui.editing.hidden = true;
    this.ui.send.textContent = 'Send';
    this.ui.form.classList.remove('is-editing');
    this.ui.input.focus();
  }

  /** A refused message goes back in the box, unless the user has started typing something else. */
  giveBack(text) {
    if (!this.ui.input.value && this.editing === null) this.ui.input.value = text;
  }

  focus() { this.ui.input.focus(); }
}
