"""Models behind the ensemble: one interface (`base`), XGBoost, random forest, LSTM, rules;
the meta-learner (`ensemble`), tracking, the registry, and honest evaluation."""
