// The hosted login page's script: hydrates the server-rendered card (src/login/) with the same
// component and follows the login live. The page works without it, minus live updates.
import { hydrate } from 'preact';
import { LoginPage } from './LoginPage.tsx';
import type { PageState } from './model.ts';
import './login.css';

const stateElement = document.getElementById('login-state');
const root = document.getElementById('login-root');
if (stateElement && root) {
  const state = JSON.parse(stateElement.textContent ?? '{}') as PageState;
  hydrate(<LoginPage initial={state.snapshot} locale={state.locale} />, root);
}
