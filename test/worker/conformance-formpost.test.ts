/**
 * The OpenID Foundation conformance suite's Form Post OP plan
 * (`oidcc-formpost-basic-certification-test-plan`): the Basic OP module list with the response
 * mode variant `form_post`, so every authorization request carries `response_mode=form_post` and
 * every answer — codes and errors — reaches the redirect_uri as an auto-submitting form.
 * The modules are those of conformance-plan.ts, one test each, named after the module.
 */
import { basicOpPlan, FORM_POST } from './conformance-plan.ts';

basicOpPlan(FORM_POST);
