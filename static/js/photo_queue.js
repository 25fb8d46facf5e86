// A check-in's photo (templates/patient/_checkin_photo.html): checked and shown when chosen,
// kept on the phone while its check-in waits in the queue (static/js/checkins.js), and sent
// with it as multipart/form-data. localStorage holds only a few MB of text, so the photo goes
// to IndexedDB, under the check-in's idempotency key; it is forgotten once the server has
// answered for that check-in (taken, or refused for good).
import { sendForm, sendJson, texts } from "./common.js";

const DB_NAME = "meso-checkin-photos";
const STORE = "photos";
// A kept photo whose check-in is no longer queued (its tab closed between the two writes) is
// dropped after this long; sooner, it could be another tab's photo whose check-in is on its way.
const ORPHAN_AFTER_MS = 60 * 60 * 1000;

// Where IndexedDB is blocked (some private modes): kept until the page closes.
const memory = new Map();
// Photos being written right now: never dropped as orphans.
const writing = new Set();

let database = null;
const open = () => {
  database ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return database;
};

// One request in its own transaction; resolves with its result once the transaction is done.
const run = async (mode, action) => {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = action(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
};

// The field on this page's check-in form, if the clinic takes photos.
const fieldOf = (form) => form?.querySelector(".checkin-photo") ?? null;
const inputOf = (field) => field.querySelector('input[type="file"]');

// The photo chosen on the form, or null.
export const chosenPhoto = (form) => {
  const field = fieldOf(form);
  return field ? inputOf(field).files?.[0] ?? null : null;
};

const showError = (field, message) => {
  const error = field.querySelector("#checkin-photo-error");
  error.textContent = message ?? "";
  error.hidden = !message;
  field.classList.toggle("has-error", Boolean(message));
  if (message) inputOf(field).setAttribute("aria-invalid", "true");
  else inputOf(field).removeAttribute("aria-invalid");
};

// Whether the chosen photo (if any) may be sent: a larger one is refused here, next to the
// field, before the check-in is kept or sent.
export const photoFits = (form) => {
  const field = fieldOf(form);
  const photo = chosenPhoto(form);
  if (!field || !photo) return true;
  if (photo.size <= Number(field.dataset.maxBytes)) return true;
  showError(field, texts(field).tooLarge);
  inputOf(field).focus();
  return false;
};

// Keep a photo for the check-in ``key`` until it is sent. A copy of its bytes: a File may be
// a camera's temporary file, gone by the time the network is back.
export const keepPhoto = async (key, file) => {
  writing.add(key);
  try {
    const photo = {
      blob: new Blob([await file.arrayBuffer()], { type: file.type }),
      name: file.name || "photo.jpg",
      kept: Date.now(),
    };
    try {
      await run("readwrite", (store) => store.put(photo, key));
    } catch {
      memory.set(key, photo);
    }
  } finally {
    writing.delete(key);
  }
};

const photoFor = async (key) => {
  if (memory.has(key)) return memory.get(key);
  try {
    return (await run("readonly", (store) => store.get(key))) ?? null;
  } catch {
    return null;
  }
};

export const forgetPhoto = async (key) => {
  memory.delete(key);
  try {
    await run("readwrite", (store) => store.delete(key));
  } catch {
    // Nothing kept there.
  }
};

// Drop the photos of check-ins no longer queued (``keys`` are the queued ones): another
// patient's, left on a shared phone, at once; any other after ORPHAN_AFTER_MS.
export const keepOnlyPhotos = async (keys, othersAlso = false) => {
  const queued = new Set(keys);
  for (const key of memory.keys()) if (!queued.has(key) && !writing.has(key)) memory.delete(key);
  try {
    const stored = await run("readonly", (store) => store.getAllKeys());
    for (const key of stored) {
      if (queued.has(key) || writing.has(key)) continue;
      const photo = othersAlso ? null : await photoFor(key);
      if (othersAlso || !photo || Date.now() - photo.kept > ORPHAN_AFTER_MS) await forgetPhoto(key);
    }
  } catch {
    // No IndexedDB: nothing kept there.
  }
};

// A check-in as the form would send it (POST /checkins takes the form's field names).
const formOf = (fields, photo) => {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (name === "signs") {
      for (const [sign, level] of Object.entries(value)) body.append(`sign_${sign}`, level);
    } else if (name === "symptoms") {
      value.forEach((key) => body.append("symptoms", key));
    } else {
      body.append(name, String(value));
    }
  }
  body.append("photo", photo.blob, photo.name);
  return body;
};

// Why the server took the check-in but not its photo: a 400 about the photo alone, or a 413
// (the photo too large for the server, or for a proxy on the way). Else null.
const photoRefusal = ({ status, data }) => {
  const errors = data?.errors;
  if (status === 413) return errors?.photo ?? data?.error ?? "";
  if (status === 400 && errors && Object.keys(errors).join() === "photo") return errors.photo;
  return null;
};

// Send a queued check-in: with its photo as a form when it has one kept, else as JSON.
// Resolves like sendJson, plus ``photoRefused`` (the server's reason) when the photo was
// refused: the check-in never waits for its photo, so it is sent again at once without it.
export const sendCheckin = async (url, item) => {
  const { photo: hasPhoto, ...fields } = item;
  const photo = hasPhoto ? await photoFor(item.key) : null;
  if (!photo) return sendJson(url, "POST", fields);
  const answer = await sendForm(url, formOf(fields, photo));
  const refusal = photoRefusal(answer);
  // Taken, or refused for good: the photo has been answered for. (Anything else, such as
  // offline, signed out or a stale token, keeps it for the next try.)
  if (answer.ok || answer.data?.errors || refusal !== null) await forgetPhoto(item.key);
  if (refusal === null) return answer;
  return { ...(await sendJson(url, "POST", fields)), photoRefused: refusal };
};

// Say on the card that the check-in went without its photo, and why.
export const photoNotAdded = (card, form, reason) => {
  const field = fieldOf(form);
  if (!card || !field) return;
  let note = card.querySelector(".checkin-photo-note");
  if (!note) {
    note = document.createElement("p");
    note.className = "checkin-photo-note error";
    note.setAttribute("role", "status");
    card.querySelector(".checkin-status")?.after(note);
  }
  note.textContent = texts(field).notAdded.replace("%(reason)s", reason).trim();
};

// What was chosen, as a small picture (a data: URL: the page's CSP allows no blob: images),
// with a button to take it off. A format this browser cannot draw (HEIC outside Safari) shows
// its file name only, in the field itself.
const PREVIEW_SIDE = 160;

const preview = async (field) => {
  const input = inputOf(field);
  const chosen = field.querySelector(".checkin-photo-chosen");
  const file = input.files?.[0];
  chosen.querySelector("img")?.remove();
  chosen.hidden = !file;
  showError(field, null);
  if (!file) return;
  if (file.size > Number(field.dataset.maxBytes)) {
    showError(field, texts(field).tooLarge);
    return;
  }
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PREVIEW_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    if (input.files?.[0] !== file) return;  // another one was chosen meanwhile
    const image = new Image(canvas.width, canvas.height);
    image.className = "checkin-photo-preview";
    image.alt = texts(field).preview;
    image.src = canvas.toDataURL("image/jpeg", 0.8);
    chosen.prepend(image);
  } catch {
    // Not drawable here: the server still reads it.
  }
};

document.querySelectorAll(".checkin-photo").forEach((field) => {
  const input = inputOf(field);
  input.addEventListener("change", () => preview(field));
  field.querySelector(".checkin-photo-remove").addEventListener("click", () => {
    input.value = "";
    preview(field);
    input.focus();
  });
  if (input.files?.length) preview(field);  // kept by the browser across a reload
});
