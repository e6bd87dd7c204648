// The few pieces of Preact the UI uses, and html`...` templates (htm):
// everything interpolated into a template is a text node or a property,
// never parsed as HTML.
import { h, render, Fragment, Component } from './vendor/preact.mjs';
import { useState, useEffect, useLayoutEffect, useMemo, useRef, useCallback, useReducer } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';

export const html = htm.bind(h);
export { h, render, Fragment, Component, useState, useEffect, useLayoutEffect, useMemo, useRef, useCallback, useReducer };
