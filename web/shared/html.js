// The one import every screen uses for components, hooks, signals and `html` templates (htm bound to
// Preact's h): screens never import from vendor/ themselves, so a library can change in one place.
import { h, render, Fragment, createContext, cloneElement, toChildArray } from '../vendor/preact.js';
import htm from '../vendor/htm.js';

export { h, render, Fragment, createContext, cloneElement, toChildArray };
export {
  useState, useEffect, useLayoutEffect, useMemo, useCallback, useRef, useReducer, useContext, useId, useErrorBoundary,
} from '../vendor/preact-hooks.js';
export {
  signal, computed, effect, batch, untracked, Signal, useSignal, useComputed, useSignalEffect,
} from '../vendor/signals.js';

export const html = htm.bind(h);
